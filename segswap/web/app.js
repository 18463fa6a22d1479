// segswap — the "swap by hand" page. Plain JavaScript, no build step, no dependencies.
//
// The mask is one byte per scene pixel (mask.js, at the scene's own size). It is made
// by dragging a box around an object (the server selects it: POST /v2/masks), refined
// by clicks (add / remove part), brush strokes, grow/shrink, invert, or loaded from a
// file; every change can be undone. The screen canvas shows it scaled. Before a swap the
// server's mask doctor (POST /v2/masks/check) may warn; the swap then waits for a second
// press. Scene and object are sent as loaded (their files' data URIs), the mask as a
// black/white PNG of the scene's size.
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);

  const KEY_STORAGE = "segswap.apiKey";
  const MASK_RGB = [255, 32, 96];
  const MASK_COLOR = `rgb(${MASK_RGB.join(", ")})`;
  // Undo keeps at most this many bytes of mask snapshots (and at most 30 of them per
  // step), and at most MAX_STEPS earlier steps of a chain of edits.
  const HISTORY_BYTES = 256 * 1024 * 1024;
  const MAX_STEPS = 20;
  // A 1×1 fully transparent PNG: the object of a removal when none is loaded.
  const TRANSPARENT_PNG =
    "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNgYGBgAAAABQABeqhXUAAAAABJRU5ErkJggg==";
  // Formats sent as loaded; anything else the browser can show is converted to PNG first.
  const SENT_AS_IS = new Set(["image/png", "image/jpeg", "image/webp", "image/gif", "image/bmp"]);
  const IMAGE_FIELD_TARGETS = {
    main_image: "scene-drop",
    mask_image: "scene-drop",
    object_image: "object-drop",
  };

  const form = $("swap-form");
  const sceneImg = $("scene-img");
  const stage = $("stage");
  const canvas = $("mask-canvas");
  const ctx = canvas.getContext("2d");
  const ring = $("brush-ring");
  const brush = $("brush-size");
  const statusBox = $("status");
  const statusText = $("status-text");
  const submitButton = $("submit");
  const keyInput = $("api-key");

  const state = {
    scene: null, // {dataUrl, url, width, height, name}
    object: null, // {dataUrl, url, width, height, name}
    mask: null, // SegswapMask.Mask at the scene's size
    maskView: document.createElement("canvas"), // the mask coloured, at the scene's size
    maskVersion: 0, // bumped on every change
    warnedVersion: -1, // the mask version whose warnings were shown (a 2nd press swaps)
    warnedGrowmask: undefined, // ...and the growmask they were checked with
    history: [], // {mask, selection, origin} before each change, for undo
    selection: null, // {box, points, base}: the selection being refined by clicks
    selecting: 0, // selection requests in flight
    current: null, // the stroke or box being drawn
    engine: null, // what GET /health says runs: {engine, prompt_used}
    params: null, // the API's parameter schemas (from openapi.json), by name
    paramsReady: null, // the promise of them
    origin: null, // the mask file the mask came from: {dataUrl, width, height, name, check}
    result: null, // the result shown: {blob, url, name, output, info}
    chain: [], // earlier steps, before each "Use as scene": {scene, mask, history, ..., result}
    busy: false,
    blockedUntil: 0, // after a 429, submissions wait for Retry-After
  };

  // ----- small helpers -----

  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  function formatBytes(n) {
    if (n < 1024) return `${n} B`;
    if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
    return `${(n / 1024 / 1024).toFixed(1)} MB`;
  }

  function blobToDataUrl(blob) {
    return new Promise((resolve, reject) => {
      const reader = new FileReader();
      reader.onload = () => resolve(String(reader.result));
      reader.onerror = () => reject(reader.error || new Error("could not read the file"));
      reader.readAsDataURL(blob);
    });
  }

  function canvasToBlob(c, type) {
    return new Promise((resolve, reject) => {
      c.toBlob((blob) => (blob ? resolve(blob) : reject(new Error("could not encode the image"))), type);
    });
  }

  class UserError extends Error {
    constructor(message, focusId) {
      super(message);
      this.focusId = focusId || null;
    }
  }

  // ----- status line -----

  // The text is announced (a live region) only when it changes; the running time next
  // to it is not.
  function setStatus(kind, text, seconds) {
    statusBox.dataset.state = kind;
    if (statusText.textContent !== text) statusText.textContent = text;
    $("status-time").textContent = seconds === undefined ? "" : `${seconds} s`;
  }

  function setBusy(busy) {
    state.busy = busy;
    submitButton.disabled = busy || Date.now() < state.blockedUntil;
    const warned =
      state.warnedVersion === state.maskVersion &&
      state.warnedGrowmask === checkedGrowmask() &&
      !$("mask-warnings").hidden;
    submitButton.textContent = busy ? "Working…" : warned ? "Swap anyway" : "Swap";
    form.setAttribute("aria-busy", busy ? "true" : "false");
  }

  function clearFieldErrors() {
    for (const el of document.querySelectorAll("[aria-invalid='true']")) {
      el.removeAttribute("aria-invalid");
    }
    for (const el of document.querySelectorAll(".invalid")) el.classList.remove("invalid");
  }

  function markField(field) {
    const named = form.elements.namedItem(field);
    if (named && named instanceof HTMLElement) {
      named.setAttribute("aria-invalid", "true");
      named.focus();
      return;
    }
    const target = IMAGE_FIELD_TARGETS[field] && $(IMAGE_FIELD_TARGETS[field]);
    if (target) target.classList.add("invalid");
  }

  function showError(error) {
    let text;
    if (error instanceof UserError) {
      text = error.message;
      if (error.focusId) {
        const el = $(error.focusId);
        if (el) {
          el.classList.add("invalid");
          if (typeof el.focus === "function") el.focus();
        }
      }
    } else if (error instanceof TypeError) {
      text = `Could not reach the server (${error.message}). Is segswap still running?`;
    } else {
      text = error && error.message ? error.message : String(error);
    }
    setStatus("failed", text);
  }

  // ----- API errors -----

  async function readJson(response) {
    const text = await response.text();
    try {
      return JSON.parse(text);
    } catch (_) {
      return { error: text.trim().slice(0, 300) || `HTTP ${response.status}` };
    }
  }

  function apiError(response, body) {
    const status = response.status;
    const text =
      body && typeof body.error === "string" && body.error
        ? body.error
        : `HTTP ${status} ${response.statusText || ""}`.trim();
    let message;
    let focusId = null;
    switch (status) {
      case 400: {
        message = `The server refused the request (400): ${text}`;
        const match = /^([a-z_]+)\b/.exec(text);
        if (match) markField(match[1]);
        break;
      }
      case 401:
        message =
          `The API key was refused (401): ${text}. Enter a valid key under “API key”` +
          " (the line below it says how to make one).";
        focusId = "api-key";
        showKeyHelp(true);
        break;
      case 403:
        message = `Not allowed (403): ${text}`;
        break;
      case 404:
        message = `Not found (404): ${text}`;
        break;
      case 406:
        message = `Not enough credits (406): ${text}`;
        break;
      case 413:
        message = `Too large (413): ${text}. Try a smaller image.`;
        break;
      case 429: {
        const retry = response.headers.get("Retry-After");
        const seconds = Number(retry);
        message = `Too many requests (429): ${text}.`;
        if (retry) {
          message += ` Retry after ${retry} s (Retry-After).`;
          if (Number.isFinite(seconds) && seconds > 0) blockFor(seconds);
        }
        break;
      }
      case 502:
        message = `No worker available (502): ${text}`;
        break;
      default:
        message = status >= 500 ? `Server error (${status}): ${text}` : `Error ${status}: ${text}`;
    }
    const error = new UserError(message, focusId);
    error.status = status;
    return error;
  }

  // The line on how to get a key: shown after a 401, hidden once a keyed request passes.
  function showKeyHelp(show) {
    $("key-help").hidden = !show;
  }

  function blockFor(seconds) {
    state.blockedUntil = Date.now() + seconds * 1000;
    submitButton.disabled = true;
    setTimeout(() => {
      if (!state.busy) submitButton.disabled = false;
    }, seconds * 1000 + 50);
  }

  // ----- API key (kept in localStorage) -----

  function loadKey() {
    try {
      keyInput.value = window.localStorage.getItem(KEY_STORAGE) || "";
    } catch (_) {
      /* storage disabled: the field still works for this page */
    }
  }

  function saveKey() {
    try {
      const value = keyInput.value.trim();
      if (value) window.localStorage.setItem(KEY_STORAGE, value);
      else window.localStorage.removeItem(KEY_STORAGE);
    } catch (_) {
      /* storage disabled */
    }
  }

  function authHeaders() {
    const key = keyInput.value.trim();
    if (!key) return {};
    if (!/^[\x21-\x7e]+$/.test(key)) {
      throw new UserError("The API key contains characters a key cannot have.", "api-key");
    }
    return { "x-api-key": key };
  }

  // ----- loading images -----

  async function readImage(file) {
    const url = URL.createObjectURL(file);
    const img = new Image();
    img.src = url;
    try {
      await img.decode();
    } catch (_) {
      URL.revokeObjectURL(url);
      throw new UserError(`${file.name || "That file"} is not an image this browser can read.`);
    }
    let dataUrl;
    if (SENT_AS_IS.has(file.type)) {
      dataUrl = await blobToDataUrl(file);
    } else {
      // SVG, AVIF, HEIC...: send what the browser shows, as a PNG.
      const c = document.createElement("canvas");
      c.width = img.naturalWidth;
      c.height = img.naturalHeight;
      c.getContext("2d").drawImage(img, 0, 0);
      dataUrl = await blobToDataUrl(await canvasToBlob(c, "image/png"));
    }
    return {
      dataUrl,
      url,
      width: img.naturalWidth,
      height: img.naturalHeight,
      name: file.name || "pasted image",
      bytes: file.size,
    };
  }

  async function loadScene(file) {
    if (state.busy) {
      $("scene-info").textContent = "Wait for the running request to finish before changing the scene.";
      return;
    }
    clearFieldErrors();
    let scene;
    try {
      scene = await readImage(file);
    } catch (error) {
      showError(error);
      return;
    }
    // A scene of its own: the chain of earlier steps ends here.
    for (const step of state.chain.splice(0)) {
      URL.revokeObjectURL(step.scene.url);
      URL.revokeObjectURL(step.result.url);
    }
    dropResult();
    setScene(scene);
    setStatus("idle", "Scene loaded. Drag a box around what to replace, or paint over it.");
  }

  // `scene` becomes the scene, with an empty mask and nothing to undo on it.
  function setScene(scene) {
    if (state.scene) URL.revokeObjectURL(state.scene.url);
    state.scene = scene;
    state.mask = new SegswapMask.Mask(scene.width, scene.height);
    state.history = [];
    state.selection = null;
    state.origin = null;
    state.current = null;
    showBox(null);
    hideWarnings();
    sceneImg.src = scene.url;
    $("scene-empty").hidden = true;
    $("other-scene").hidden = false;
    stage.hidden = false;
    $("result").hidden = true;
    layoutStage();
    maskChanged();
  }

  // ----- chained edits: "Use as scene", and Undo back through them -----

  // The result shown becomes the scene of the next edit. The step it came from (scene,
  // mask, its undo history, result) is kept: Undo returns to it.
  async function useAsScene() {
    const result = state.result;
    if (state.busy || !result || !state.scene) return;
    const scene = {
      dataUrl: await blobToDataUrl(result.blob),
      url: URL.createObjectURL(result.blob),
      width: result.width,
      height: result.height,
      name: result.name,
      bytes: result.blob.size,
    };
    state.chain.push({
      scene: state.scene,
      mask: state.mask,
      history: state.history,
      selection: state.selection,
      origin: state.origin,
      result,
    });
    state.scene = null; // kept by the step: not revoked
    state.result = null;
    setScene(scene);
    trimMemory();
    const step = state.chain.length + 1;
    setStatus(
      "idle",
      `Step ${step}: the result is the scene now. Select or paint the next region; ` +
        "Undo goes back to the previous step.",
    );
  }

  // Back to the step before the last "Use as scene", its result shown again.
  function undoStep() {
    const step = state.chain.pop();
    if (!step) return;
    dropResult();
    URL.revokeObjectURL(state.scene.url);
    state.scene = step.scene;
    state.mask = step.mask;
    state.history = step.history;
    state.selection = step.selection;
    state.origin = step.origin;
    state.current = null;
    sceneImg.src = step.scene.url;
    hideWarnings();
    displayResult(step.result);
    showBox(state.selection && state.selection.box);
    maskChanged();
    setStatus(
      "idle",
      `Back to step ${state.chain.length + 1}: its scene, mask and result.`,
    );
  }

  async function loadObject(file) {
    clearFieldErrors();
    let object;
    try {
      object = await readImage(file);
    } catch (error) {
      showError(error);
      return;
    }
    if (state.object) URL.revokeObjectURL(state.object.url);
    state.object = object;
    const img = $("object-img");
    img.src = object.url;
    img.hidden = false;
    $("object-empty").hidden = true;
    $("object-clear").disabled = false;
    setStatus("idle", `Object loaded: ${object.name} (${object.width}×${object.height}).`);
  }

  function clearObject() {
    if (state.object) URL.revokeObjectURL(state.object.url);
    state.object = null;
    $("object-img").hidden = true;
    $("object-img").removeAttribute("src");
    $("object-empty").hidden = false;
    $("object-clear").disabled = true;
  }

  function firstImageFile(list) {
    for (const file of list || []) {
      if (!file.type || file.type.startsWith("image/")) return file;
    }
    return null;
  }

  function wireFileInput(id, load) {
    $(id).addEventListener("change", (event) => {
      const file = event.target.files && event.target.files[0];
      if (file) load(file);
      event.target.value = ""; // choosing the same file again fires change again
    });
  }

  function wireDropZone(zone, load) {
    zone.addEventListener("dragover", (event) => {
      event.preventDefault();
      event.dataTransfer.dropEffect = "copy";
      zone.classList.add("dragging");
    });
    zone.addEventListener("dragleave", (event) => {
      if (!zone.contains(event.relatedTarget)) zone.classList.remove("dragging");
    });
    zone.addEventListener("drop", (event) => {
      event.preventDefault();
      event.stopPropagation();
      zone.classList.remove("dragging");
      const file = firstImageFile(event.dataTransfer.files);
      if (file) load(file);
      else setStatus("failed", "Drop an image file (PNG, JPEG, WebP…).");
    });
  }

  // ----- mask: layout, tools, drawing -----

  function layoutStage() {
    const scene = state.scene;
    if (!scene) return;
    const zone = $("scene-drop");
    const style = getComputedStyle(zone);
    const available =
      zone.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
    // Tall enough to work on, short enough that the tools above and the info line below
    // stay in view with it.
    const top = zone.getBoundingClientRect().top + window.scrollY;
    const maxHeight = Math.max(240, window.innerHeight - Math.min(top, 320) - 64);
    const scale = Math.min(available / scene.width, maxHeight / scene.height);
    const width = Math.max(1, Math.floor(scene.width * scale));
    const height = Math.max(1, Math.floor(scene.height * scale));
    for (const el of [stage, $("compare")]) {
      el.style.width = `${width}px`;
      el.style.height = `${height}px`;
    }
    const dpr = window.devicePixelRatio || 1;
    const backingWidth = Math.max(1, Math.round(width * dpr));
    const backingHeight = Math.max(1, Math.round(height * dpr));
    if (canvas.width !== backingWidth || canvas.height !== backingHeight) {
      canvas.width = backingWidth;
      canvas.height = backingHeight;
    }
    redrawMask();
    const percent = Math.round((width / scene.width) * 100);
    $("scene-info").textContent =
      `${scene.name} — ${scene.width}×${scene.height} px, shown at ${percent} %. ` +
      "The mask is sent at the full size.";
  }

  // Scene pixels per canvas backing pixel is 1 / displayScale().
  function displayScale() {
    return state.scene ? canvas.width / state.scene.width : 1;
  }

  function toScene(event) {
    const rect = canvas.getBoundingClientRect();
    const x = ((event.clientX - rect.left) / rect.width) * state.scene.width;
    const y = ((event.clientY - rect.top) / rect.height) * state.scene.height;
    return [
      Math.min(state.scene.width - 0.5, Math.max(0, x)),
      Math.min(state.scene.height - 0.5, Math.max(0, y)),
    ];
  }

  function brushRadiusInScene() {
    const rect = canvas.getBoundingClientRect();
    return (Number(brush.value) / 2) * (state.scene.width / rect.width);
  }

  // The mask at the scene's size, drawn (coloured) into a canvas of that size, then
  // scaled onto the screen canvas.
  function redrawMask() {
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    if (!state.mask) return;
    const view = state.maskView;
    if (view.width !== state.mask.width || view.height !== state.mask.height) {
      view.width = state.mask.width;
      view.height = state.mask.height;
    }
    state.mask.paintInto(view, MASK_RGB);
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(view, 0, 0, canvas.width, canvas.height);
  }

  function maskChanged() {
    state.maskVersion += 1;
    hideWarnings();
    redrawMask();
    updateMaskButtons();
  }

  function updateMaskButtons() {
    const has = Boolean(state.mask) && !state.mask.isEmpty();
    $("undo").disabled = state.history.length === 0 && state.chain.length === 0;
    $("clear-mask").disabled = !has;
    $("grow-mask").disabled = !has;
    $("shrink-mask").disabled = !has;
    $("save-mask").disabled = !has;
    $("invert-mask").disabled = !state.mask;
  }

  // Every change to the mask goes through here: the state before it can be undone.
  function remember() {
    state.history.push({ mask: state.mask.copy(), selection: state.selection, origin: state.origin });
    while (state.history.length > 30) state.history.shift();
    trimMemory();
  }

  // Keeps undo within HISTORY_BYTES of masks: the oldest steps of the chain give up
  // their mask edits first, then (beyond MAX_STEPS, or still over) the steps themselves;
  // the current step's last edit is always kept.
  function trimMemory() {
    const stepBytes = (step) =>
      step.mask.data.length + step.history.reduce((n, e) => n + e.mask.data.length, 0);
    let bytes = state.history.reduce((n, e) => n + e.mask.data.length, 0);
    for (const step of state.chain) bytes += stepBytes(step);
    while (state.chain.length > MAX_STEPS || (bytes > HISTORY_BYTES && state.chain.length)) {
      const oldest = state.chain[0];
      if (oldest.history.length && state.chain.length <= MAX_STEPS) {
        bytes -= oldest.history.shift().mask.data.length;
        continue;
      }
      bytes -= stepBytes(oldest);
      state.chain.shift();
      URL.revokeObjectURL(oldest.scene.url);
      URL.revokeObjectURL(oldest.result.url);
    }
    while (state.history.length > 1 && bytes > HISTORY_BYTES) {
      bytes -= state.history.shift().mask.data.length;
    }
  }

  // Undoes the last mask edit; with none left, the last "Use as scene".
  function undo() {
    if (!state.history.length) {
      if (state.busy) {
        setStatus("working", "Wait for the running request to finish before going back a step.");
        return;
      }
      undoStep();
      return;
    }
    const entry = state.history.pop();
    state.mask = entry.mask;
    state.selection = entry.selection;
    state.origin = entry.origin;
    state.current = null;
    showBox(state.selection && state.selection.box);
    maskChanged();
  }

  function endSelection() {
    state.selection = null;
    showBox(null);
  }

  function editWhole(change) {
    if (!state.mask) return;
    remember();
    endSelection();
    change(state.mask);
    maskChanged();
  }

  function clearMask() {
    if (!state.mask || state.mask.isEmpty()) return;
    editWhole((mask) => {
      mask.data.fill(0);
      state.origin = null; // nothing of the loaded file is left
    });
  }

  function growStep() {
    const step = Math.round(Number($("grow-step").value));
    return Number.isFinite(step) && step > 0 ? Math.min(step, 50) : 4;
  }

  function currentTool() {
    const checked = document.querySelector("input[name=tool]:checked");
    return checked ? checked.value : "box";
  }

  function moveRing(event) {
    const tool = currentTool();
    if (tool !== "paint" && tool !== "erase") {
      ring.hidden = true;
      return;
    }
    const rect = stage.getBoundingClientRect();
    const size = Number(brush.value);
    ring.style.width = ring.style.height = `${size}px`;
    ring.style.left = `${event.clientX - rect.left - size / 2}px`;
    ring.style.top = `${event.clientY - rect.top - size / 2}px`;
    ring.classList.toggle("erase", tool === "erase");
    ring.hidden = false;
  }

  // The box of the current selection, drawn over the scene (scene pixels → screen).
  function showBox(box) {
    const el = $("select-box");
    if (!box || !state.scene) {
      el.hidden = true;
      return;
    }
    const rect = canvas.getBoundingClientRect();
    const sx = rect.width / state.scene.width;
    const sy = rect.height / state.scene.height;
    el.style.left = `${box[0] * sx}px`;
    el.style.top = `${box[1] * sy}px`;
    el.style.width = `${(box[2] - box[0]) * sx}px`;
    el.style.height = `${(box[3] - box[1]) * sy}px`;
    el.hidden = false;
  }

  // ----- brush strokes -----

  // Draw points[from..] of a stroke onto a 2D context at `scale` (scene px → context px).
  function paintStroke(target, stroke, scale, from, color, erase) {
    const points = stroke.points;
    target.save();
    target.scale(scale, scale);
    target.globalCompositeOperation = erase ? "destination-out" : "source-over";
    target.fillStyle = target.strokeStyle = color;
    target.lineCap = "round";
    target.lineJoin = "round";
    target.lineWidth = stroke.radius * 2;
    if (from === 0) {
      target.beginPath();
      target.arc(points[0][0], points[0][1], stroke.radius, 0, Math.PI * 2);
      target.fill();
    }
    if (points.length > 1) {
      const start = Math.max(from - 1, 0);
      target.beginPath();
      target.moveTo(points[start][0], points[start][1]);
      for (let i = start + 1; i < points.length; i += 1) target.lineTo(points[i][0], points[i][1]);
      target.stroke();
    }
    target.restore();
  }

  // A finished stroke goes into the mask: drawn at the scene's size over its own box
  // only, then thresholded (its anti-aliased rim at > 127, as the server reads masks).
  function commitStroke(stroke) {
    const pad = Math.ceil(stroke.radius) + 2;
    const xs = stroke.points.map((p) => p[0]);
    const ys = stroke.points.map((p) => p[1]);
    const left = Math.max(0, Math.floor(Math.min(...xs) - pad));
    const top = Math.max(0, Math.floor(Math.min(...ys) - pad));
    const right = Math.min(state.mask.width, Math.ceil(Math.max(...xs) + pad));
    const bottom = Math.min(state.mask.height, Math.ceil(Math.max(...ys) + pad));
    const w = right - left;
    const h = bottom - top;
    if (w <= 0 || h <= 0) return;
    const off = document.createElement("canvas");
    off.width = w;
    off.height = h;
    const octx = off.getContext("2d", { willReadFrequently: true });
    octx.translate(-left, -top);
    paintStroke(octx, stroke, 1, 0, "#fff", false);
    const pixels = octx.getImageData(0, 0, w, h).data;
    state.mask.stamp(pixels, left, top, w, h, stroke.erase ? 0 : 1);
  }

  // ----- box and click selection (POST /v2/masks) -----

  // The part of the scene the server needs for a box: the box plus the margin the
  // selection looks at (15 % of its longer side; 20 % here), as a PNG data URI. The
  // result is the same as with the whole scene, for less upload.
  async function sceneCrop(area) {
    const [left, top, right, bottom] = area;
    const c = document.createElement("canvas");
    c.width = right - left;
    c.height = bottom - top;
    c.getContext("2d").drawImage(sceneImg, left, top, c.width, c.height, 0, 0, c.width, c.height);
    return blobToDataUrl(await canvasToBlob(c, "image/png"));
  }

  function cropFor(box) {
    const { width, height } = state.scene;
    const margin = Math.ceil(0.2 * Math.max(box[2] - box[0], box[3] - box[1])) + 8;
    return [
      Math.max(0, Math.floor(box[0] - margin)),
      Math.max(0, Math.floor(box[1] - margin)),
      Math.min(width, Math.ceil(box[2] + margin)),
      Math.min(height, Math.ceil(box[3] + margin)),
    ];
  }

  async function requestSelection(selection) {
    const headers = { "content-type": "application/json", ...authHeaders() };
    const area = selection.box
      ? cropFor(selection.box)
      : [0, 0, state.scene.width, state.scene.height];
    const [left, top] = area;
    const body = {
      main_image: selection.box ? await sceneCrop(area) : state.scene.dataUrl,
    };
    if (selection.box) {
      const b = selection.box;
      body.box = [b[0] - left, b[1] - top, b[2] - left, b[3] - top];
    }
    if (selection.points.length) {
      body.points = selection.points.map((p) => ({
        x: p.x - left,
        y: p.y - top,
        positive: p.positive,
      }));
    }
    const response = await fetch("v2/masks", {
      method: "POST",
      headers: { ...headers, accept: "image/png" },
      body: JSON.stringify(body),
    });
    if (!response.ok) throw apiError(response, await readJson(response));
    showKeyHelp(false);
    const bitmap = await createImageBitmap(await response.blob());
    const w = area[2] - area[0];
    const h = area[3] - area[1];
    if (bitmap.width !== w || bitmap.height !== h) {
      throw new UserError(`The server's mask is ${bitmap.width}×${bitmap.height}, not ${w}×${h}.`);
    }
    const c = document.createElement("canvas");
    c.width = w;
    c.height = h;
    const cx = c.getContext("2d", { willReadFrequently: true });
    cx.drawImage(bitmap, 0, 0);
    const rgba = cx.getImageData(0, 0, w, h).data;
    const picked = new SegswapMask.Mask(state.scene.width, state.scene.height);
    for (let y = 0; y < h; y += 1) {
      for (let x = 0; x < w; x += 1) {
        if (rgba[(y * w + x) * 4] > 127) picked.data[(y + top) * picked.width + x + left] = 1;
      }
    }
    return picked;
  }

  // Runs one selection request at a time; the latest selection wins.
  async function runSelection(selection) {
    state.selecting += 1;
    stage.classList.add("selecting");
    setStatus("working", selection.box ? "Selecting the object in the box…" : "Selecting…");
    try {
      const picked = await requestSelection(selection);
      if (state.selection !== selection) return; // undone or replaced meanwhile
      const mask = selection.base.copy();
      mask.union(picked);
      state.mask = mask;
      maskChanged();
      const share = Math.round((picked.count() / (picked.width * picked.height)) * 1000) / 10;
      setStatus(
        "idle",
        picked.isEmpty()
          ? "Nothing was selected: draw the box around an object, or click on it."
          : `Selected ${share} % of the scene. Refine: Add / Remove part, or the brush.`,
      );
    } catch (error) {
      if (state.selection === selection) undo();
      showError(error);
    } finally {
      state.selecting -= 1;
      if (!state.selecting) stage.classList.remove("selecting");
    }
  }

  function startBoxSelection(box) {
    remember();
    state.selection = { box, points: [], base: state.mask.copy() };
    showBox(box);
    return runSelection(state.selection);
  }

  function clickSelection(x, y, positive) {
    remember();
    let previous = state.selection;
    const box = previous && previous.box;
    if (box && positive && !(x >= box[0] && x < box[2] && y >= box[1] && y < box[3])) {
      // Outside the box nothing is selected: a part out there is a selection of its own,
      // added to what is there.
      previous = null;
      showBox(null);
    }
    state.selection = previous
      ? { box: previous.box, points: [...previous.points, { x, y, positive }], base: previous.base }
      : { box: null, points: [{ x, y, positive }], base: state.mask.copy() };
    if (!state.selection.box && !state.selection.points.some((p) => p.positive)) {
      // Removing with nothing selected yet: nothing for the server to do.
      state.history.pop();
      state.selection = previous;
      setStatus("idle", "“Remove part” refines a selection: select with a box first.");
      return Promise.resolve();
    }
    return runSelection(state.selection);
  }

  // ----- pointer on the scene -----

  canvas.addEventListener("pointerdown", (event) => {
    if (!state.scene || event.button !== 0) return;
    event.preventDefault();
    // Working on the mask leaves any text field, so that Ctrl+Z undoes the edit.
    if (isTextField(document.activeElement)) document.activeElement.blur();
    $("scene-drop").classList.remove("invalid");
    const tool = currentTool();
    const [x, y] = toScene(event);
    if (tool === "add" || tool === "remove") {
      clickSelection(x, y, tool === "add");
      return;
    }
    canvas.setPointerCapture(event.pointerId);
    if (tool === "box") {
      state.current = { kind: "box", start: [x, y], end: [x, y] };
      showBox([x, y, x, y]);
      return;
    }
    const stroke = { kind: "stroke", erase: tool === "erase", radius: brushRadiusInScene(), points: [[x, y]] };
    state.current = stroke;
    paintStroke(ctx, stroke, displayScale(), 0, MASK_COLOR, stroke.erase);
  });

  canvas.addEventListener("pointermove", (event) => {
    moveRing(event);
    const current = state.current;
    if (!current) return;
    if (current.kind === "box") {
      current.end = toScene(event);
      showBox(boxOf(current));
      return;
    }
    const events = event.getCoalescedEvents ? event.getCoalescedEvents() : [];
    const from = current.points.length;
    for (const e of events.length ? events : [event]) {
      const point = toScene(e);
      const last = current.points[current.points.length - 1];
      if (Math.hypot(point[0] - last[0], point[1] - last[1]) >= 0.5) current.points.push(point);
    }
    if (current.points.length > from) {
      paintStroke(ctx, current, displayScale(), from, MASK_COLOR, current.erase);
    }
  });

  function boxOf(current) {
    const [x0, y0] = current.start;
    const [x1, y1] = current.end;
    return [
      Math.floor(Math.min(x0, x1)),
      Math.floor(Math.min(y0, y1)),
      Math.ceil(Math.max(x0, x1)),
      Math.ceil(Math.max(y0, y1)),
    ];
  }

  const endPointer = (event) => {
    const current = state.current;
    state.current = null;
    if (!current) return;
    if (current.kind === "box") {
      if (event.type === "pointerup") current.end = toScene(event);
      const box = boxOf(current);
      if (event.type !== "pointerup" || box[2] - box[0] < 4 || box[3] - box[1] < 4) {
        showBox(state.selection && state.selection.box);
        if (event.type === "pointerup") {
          setStatus("idle", "Drag a box around the object (at least a few pixels each way).");
        }
        return;
      }
      startBoxSelection(box);
      return;
    }
    remember();
    endSelection();
    commitStroke(current);
    maskChanged();
  };
  canvas.addEventListener("pointerup", endPointer);
  canvas.addEventListener("pointercancel", endPointer);
  canvas.addEventListener("pointerleave", () => {
    ring.hidden = true;
  });

  // ----- mask files -----

  // A mask file is shown resized to the scene (nearest neighbour, as the server resizes
  // masks) and thresholded at 127; the server's mask doctor is asked about the file as
  // it was loaded, so what only the file shows (another aspect ratio: mask_aspect; grey
  // levels: not_binary) is said in the server's words, before any edit.
  async function loadMaskFile(file) {
    if (!state.scene) {
      setStatus("failed", "Load a scene first, then its mask.");
      return;
    }
    let bitmap;
    let dataUrl;
    try {
      bitmap = await createImageBitmap(file);
      dataUrl = await blobToDataUrl(file);
    } catch (_) {
      setStatus("failed", `${file.name || "That file"} is not an image this browser can read.`);
      return;
    }
    const { width, height } = state.scene;
    const c = document.createElement("canvas");
    c.width = width;
    c.height = height;
    const cx = c.getContext("2d", { willReadFrequently: true });
    cx.imageSmoothingEnabled = false; // nearest neighbour, as the server resizes masks
    cx.drawImage(bitmap, 0, 0, width, height);
    const read = SegswapMask.fromRgba(cx.getImageData(0, 0, width, height).data, width, height);
    remember();
    endSelection();
    state.mask = read.mask;
    state.origin = {
      dataUrl,
      width: bitmap.width,
      height: bitmap.height,
      name: file.name || "image",
      check: null, // the promise of the doctor's warnings about it, once asked
    };
    maskChanged();
    const resized = bitmap.width !== width || bitmap.height !== height;
    let text = `Mask loaded: ${state.origin.name} (${bitmap.width}×${bitmap.height}`;
    text += resized ? `, resized to ${width}×${height}).` : ").";
    if (read.notBinary) {
      text += ` It is not black and white (${Math.round(read.greyShare * 100)} % grey):` +
        " pixels above 127 count as the mask.";
    }
    setStatus("idle", text);
    if (state.busy) return; // checked when the swap is pressed
    const origin = state.origin;
    const version = state.maskVersion;
    const growmask = checkedGrowmask();
    try {
      const warnings = await checkOrigin(origin, authHeaders());
      if (state.maskVersion !== version || state.busy) return; // edited meanwhile
      if (warnings.length) {
        showWarnings(warnings);
        markWarned(version, growmask);
        setBusy(false); // the button says "Swap anyway"
        setStatus("warned", `${text} ${warningsSummary(warnings)}`);
      }
    } catch (error) {
      if (state.maskVersion === version) showError(error);
    }
  }

  async function saveMask() {
    if (!state.mask) return;
    const blob = await canvasToBlob(state.mask.toCanvas(), "image/png");
    const url = URL.createObjectURL(blob);
    const link = document.createElement("a");
    link.href = url;
    link.download = `${(state.scene.name || "scene").replace(/\.[^.]*$/, "")}-mask.png`;
    document.body.appendChild(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  }

  async function renderMask() {
    const blob = await canvasToBlob(state.mask.toCanvas(), "image/png");
    return { dataUrl: await blobToDataUrl(blob), white: state.mask.count() };
  }

  // ----- mask doctor (POST /v2/masks/check) -----

  function hideWarnings() {
    const shown = !$("mask-warnings").hidden;
    $("mask-warnings").hidden = true;
    if (shown) layoutStage();
    $("mask-warning-list").textContent = "";
    state.warnedVersion = -1;
    if (!state.busy) submitButton.textContent = "Swap";
  }

  function showWarnings(warnings) {
    const list = $("mask-warning-list");
    list.textContent = "";
    for (const warning of warnings) {
      const item = document.createElement("li");
      item.dataset.code = warning.code;
      item.textContent = warning.message;
      list.appendChild(item);
    }
    $("mask-warnings").hidden = false;
    layoutStage(); // the scene makes room for them
  }

  // The server's warnings about the mask as it will be sent, or [] (also when this
  // server has no check endpoint).
  async function checkMask(maskDataUrl, headers) {
    const request = { main_image: state.scene.dataUrl, mask_image: maskDataUrl };
    const growmask = checkedGrowmask();
    if (growmask !== undefined) request.growmask = growmask;
    const response = await fetch("v2/masks/check", {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body: JSON.stringify(request),
    });
    if (response.status === 404 || response.status === 405) return [];
    const body = await readJson(response);
    if (!response.ok) throw apiError(response, body);
    showKeyHelp(false);
    return Array.isArray(body.warnings) ? body.warnings : [];
  }

  // The growmask the doctor is asked with: the field's when it is valid, else undefined
  // (the server's default; the swap will then name the field).
  function checkedGrowmask() {
    const growmask = collectParams().growmask;
    const spec = state.params && state.params.growmask;
    const valid =
      Number.isInteger(growmask) &&
      (!spec || (growmask >= spec.minimum && growmask <= spec.maximum));
    return valid ? growmask : undefined;
  }

  function markWarned(version, growmask) {
    state.warnedVersion = version;
    state.warnedGrowmask = growmask;
  }

  // The doctor's warnings about the mask file as loaded (asked once per file; asked
  // again only if asking failed).
  function checkOrigin(origin, headers) {
    if (!origin.check) {
      origin.check = checkMask(origin.dataUrl, headers);
      origin.check.catch(() => {
        origin.check = null;
      });
    }
    return origin.check;
  }

  // Codes only the loaded file can show: the page sends a black-and-white mask of the
  // scene's size, so they are carried from the file's check to every later one.
  const FILE_WARNINGS = new Set(["mask_aspect", "not_binary"]);

  // The warnings about the mask as it will be sent, with those of the file it came from.
  async function warningsBeforeSwap(maskDataUrl, headers) {
    const warnings = [];
    if (state.origin) {
      const carried = await checkOrigin(state.origin, headers);
      warnings.push(...carried.filter((w) => FILE_WARNINGS.has(w.code)));
    }
    for (const warning of await checkMask(maskDataUrl, headers)) {
      if (!warnings.some((w) => w.code === warning.code)) warnings.push(warning);
    }
    return warnings;
  }

  function warningsSummary(warnings) {
    const what = warnings.length === 1 ? "A mask warning" : `${warnings.length} mask warnings`;
    return `${what} (above the scene): fix it, or press “Swap anyway”.`;
  }

  // ----- parameters -----

  function paramElements() {
    return Array.from(form.querySelectorAll("input[name], select[name], textarea[name]"));
  }

  function collectParams() {
    const params = {};
    for (const el of paramElements()) {
      let value = el.value;
      const type = el.dataset.type;
      if (type === "int" || type === "float") {
        const text = value.trim();
        const number = Number(text);
        // Anything that is not a number goes as typed, so the server names the field.
        value = text !== "" && Number.isFinite(number) ? number : text;
      }
      params[el.name] = value;
    }
    return params;
  }

  // The parameters' ranges and defaults are the API's own, read from its OpenAPI
  // document (the schema of POST /v2/seg-swap's JSON body), so the page never carries a
  // copy of them. Submitting waits for them.
  const SCHEMA_PATH = ["paths", "/v2/seg-swap", "post", "requestBody", "content",
    "application/json", "schema"];

  function resolveRef(doc, schema) {
    let node = schema;
    for (let hops = 0; node && typeof node.$ref === "string" && hops < 8; hops += 1) {
      node = node.$ref.replace(/^#\//, "").split("/").reduce((at, key) => at && at[key], doc);
    }
    return node;
  }

  // 4294967295 → "2³²−1"; other bounds as they are.
  function formatBound(n) {
    const bits = Math.log2(n + 1);
    if (n >= 65535 && Number.isInteger(bits)) {
      const sup = String(bits).replace(/\d/g, (d) => "⁰¹²³⁴⁵⁶⁷⁸⁹"[Number(d)]);
      return `2${sup}−1`;
    }
    return String(n);
  }

  function applyParamSchema(properties) {
    state.params = properties;
    for (const el of paramElements()) {
      const spec = properties[el.name];
      if (!spec) continue;
      if (el instanceof HTMLSelectElement) {
        for (const option of el.options) {
          option.disabled = Array.isArray(spec.enum) && !spec.enum.includes(option.value);
          option.defaultSelected = option.value === spec.default;
          option.selected = option.defaultSelected;
        }
        continue;
      }
      if (el instanceof HTMLTextAreaElement) {
        if (Number.isInteger(spec.maxLength)) el.maxLength = spec.maxLength;
        if (typeof spec.default === "string") el.defaultValue = el.value = spec.default;
        continue;
      }
      const low = Number.isFinite(spec.minimum) ? spec.minimum : null;
      const high = Number.isFinite(spec.maximum) ? spec.maximum : null;
      if (low !== null) el.min = String(low);
      if (high !== null) el.max = String(high);
      if (spec.default !== undefined && spec.default !== null) {
        el.defaultValue = String(spec.default);
        el.value = String(spec.default);
      }
      const label = document.querySelector(`label[for="${el.id}"] .range`);
      if (label && low !== null && high !== null) {
        label.textContent = `${formatBound(low)}–${formatBound(high)}${label.dataset.unit || ""}`;
      }
    }
    updateOutputs();
  }

  async function loadParamSchema() {
    const response = await fetch("openapi.json", { cache: "no-store" });
    if (!response.ok) throw new Error(`openapi.json answered ${response.status}`);
    const doc = await response.json();
    const body = resolveRef(doc, SCHEMA_PATH.reduce((at, key) => at && at[key], doc));
    if (!body || typeof body.properties !== "object") {
      throw new Error("openapi.json has no schema for POST /v2/seg-swap");
    }
    const properties = {};
    for (const [name, spec] of Object.entries(body.properties)) {
      properties[name] = resolveRef(doc, spec) || {};
    }
    applyParamSchema(properties);
    return properties;
  }

  // The schema, or a UserError saying the page could not read it.
  async function paramSchema() {
    try {
      return await state.paramsReady;
    } catch (error) {
      throw new UserError(
        "The page could not read the parameters' ranges and defaults from the server " +
          `(GET openapi.json: ${error.message}). Reload the page.`,
      );
    }
  }

  function updateOutputs() {
    for (const out of form.querySelectorAll("output[data-shows]")) {
      const input = $(out.dataset.shows);
      out.textContent = state.params ? Number(input.value).toFixed(2) : "";
    }
  }

  function resetParams() {
    for (const el of paramElements()) {
      if (el instanceof HTMLSelectElement) {
        for (const option of el.options) option.selected = option.defaultSelected;
      } else {
        el.value = el.defaultValue;
      }
      el.removeAttribute("aria-invalid");
    }
    updateOutputs();
  }

  // ----- submit, poll, show -----

  async function submit(event) {
    event.preventDefault();
    if (state.busy) return;
    clearFieldErrors();
    try {
      if (!state.scene) {
        throw new UserError("Load a scene first: choose, drop or paste an image.", "scene-drop");
      }
      if (state.selecting) {
        throw new UserError("Wait for the selection to finish.", "scene-drop");
      }
      if (!state.mask || state.mask.isEmpty()) {
        throw new UserError(
          "Select or paint the region to edit first: the mask is empty.",
          "scene-drop",
        );
      }
      await paramSchema();
      const params = collectParams();
      let objectImage = state.object ? state.object.dataUrl : null;
      if (!objectImage) {
        if (params.mode !== "remove") {
          throw new UserError(
            "Load an object or pattern image (or choose the remove mode).",
            "object-drop",
          );
        }
        objectImage = TRANSPARENT_PNG;
      }
      const auth = authHeaders();
      const headers = { "content-type": "application/json", ...auth };
      setBusy(true);
      setStatus("working", "Preparing the mask…");
      const mask = await renderMask();
      const growmask = checkedGrowmask();
      if (state.warnedVersion !== state.maskVersion || state.warnedGrowmask !== growmask) {
        // Not checked as it is now (the mask or growmask changed since the warnings).
        setStatus("working", "Checking the mask…");
        const version = state.maskVersion;
        const warnings = await warningsBeforeSwap(mask.dataUrl, auth);
        if (warnings.length) {
          showWarnings(warnings);
          markWarned(version, growmask);
          setStatus("warned", warningsSummary(warnings));
          return;
        }
        hideWarnings(); // earlier ones no longer hold
      }
      const body = JSON.stringify({
        main_image: state.scene.dataUrl,
        mask_image: mask.dataUrl,
        object_image: objectImage,
        ...params,
      });
      setStatus("working", `Sending ${formatBytes(body.length)}…`);
      const response = await fetch("v2/seg-swap", { method: "POST", headers, body });
      const job = await readJson(response);
      if (!response.ok) throw apiError(response, job);
      showKeyHelp(false);
      await follow(job, headers);
    } catch (error) {
      showError(error);
    } finally {
      setBusy(false);
    }
  }

  async function follow(job, headers) {
    const auth = { "x-api-key": headers["x-api-key"] };
    if (!auth["x-api-key"]) delete auth["x-api-key"];
    const started = performance.now();
    const elapsed = () => ((performance.now() - started) / 1000).toFixed(1);
    let delay = 100;
    setStatus("queued", `Queued (request ${job.request_id}).`);
    for (;;) {
      const response = await fetch(job.status_url, { headers: auth, cache: "no-store" });
      const body = await readJson(response);
      if (response.status === 422 || body.status === "FAILED") {
        throw new UserError(`Failed: ${body.error || "the server gave no reason"}`);
      }
      if (response.status === 429) {
        await sleep(1000 * (Number(response.headers.get("Retry-After")) || 1));
        continue;
      }
      if (!response.ok) throw apiError(response, body);
      if (body.status === "COMPLETED") break;
      if (body.status === "PROCESSING") setStatus("processing", "Processing…", elapsed());
      else setStatus("queued", "Queued — waiting for a worker…", elapsed());
      await sleep(delay);
      delay = Math.min(1000, Math.round(delay * 1.5));
    }
    setStatus("processing", "Fetching the result…", elapsed());
    const response = await fetch(job.response_url, { headers: auth, cache: "no-store" });
    const result = await readJson(response);
    if (response.status === 422 || result.status === "FAILED") {
      throw new UserError(`Failed: ${result.error || "the server gave no reason"}`);
    }
    if (!response.ok) throw apiError(response, result);
    const output = String(result.output || "");
    // A URL (the default), or base64 when a request asked for it.
    const source = /^(https?:|data:)/i.test(output) ? output : `data:image/png;base64,${output}`;
    const image = await fetch(source, { cache: "no-store" });
    if (!image.ok) throw new UserError(`Could not fetch the result image (${image.status}).`);
    const blob = await image.blob();
    await showResult(blob, result, job);
    if (Array.isArray(result.warnings) && result.warnings.length) {
      state.result.info +=
        ` The server warned: ${result.warnings.map((w) => w.message).join("; ")}.`;
      $("result-info").textContent = state.result.info;
    }
    const inference = result.metrics && Number(result.metrics.inference_time);
    setStatus(
      "done",
      `Done in ${elapsed()} s` +
        (Number.isFinite(inference) ? ` (inference ${inference.toFixed(2)} s).` : "."),
    );
  }

  async function showResult(blob, result, job) {
    const ext = { "image/jpeg": "jpg", "image/webp": "webp" }[blob.type] || "png";
    const url = URL.createObjectURL(blob);
    const probe = new Image();
    probe.src = url;
    try {
      await probe.decode();
    } catch (_) {
      URL.revokeObjectURL(url);
      throw new UserError("The result is not an image this browser can show.");
    }
    dropResult();
    const output = String(result.output || "");
    state.result = {
      blob,
      url,
      name: `segswap-${job.request_id}.${ext}`,
      output: /^https?:/i.test(output) ? output : null,
      width: probe.naturalWidth,
      height: probe.naturalHeight,
      info:
        `${probe.naturalWidth}×${probe.naturalHeight} px, ${blob.type || "image"}, ` +
        `${formatBytes(blob.size)}. Drag across the image to compare.`,
    };
    displayResult(state.result);
    $("result").scrollIntoView({ block: "nearest" });
  }

  // Shows `result` (of the current scene) in the before/after view, ready to download.
  function displayResult(result) {
    state.result = result;
    $("result-img").src = result.url;
    $("before-img").src = state.scene.url;
    const download = $("download");
    download.href = result.url;
    download.download = result.name;
    const link = $("output-link");
    link.hidden = !result.output;
    if (result.output) link.href = result.output;
    $("result-info").textContent = result.info;
    $("result").hidden = false;
    layoutStage();
  }

  // Forgets the result shown (its blob URL too, unless a step of the chain keeps it).
  function dropResult() {
    const result = state.result;
    state.result = null;
    $("result").hidden = true;
    if (result && !state.chain.some((step) => step.result === result)) {
      URL.revokeObjectURL(result.url);
    }
  }

  function setCompare(percent) {
    const value = Math.max(0, Math.min(100, percent));
    $("compare").style.setProperty("--pos", `${value}%`);
    $("compare-range").value = String(value);
  }

  function wireCompare() {
    const compare = $("compare");
    const range = $("compare-range");
    range.addEventListener("input", () => setCompare(Number(range.value)));
    let dragging = false;
    const move = (event) => {
      const rect = compare.getBoundingClientRect();
      setCompare(((event.clientX - rect.left) / rect.width) * 100);
    };
    compare.addEventListener("pointerdown", (event) => {
      dragging = true;
      compare.setPointerCapture(event.pointerId);
      move(event);
    });
    compare.addEventListener("pointermove", (event) => {
      if (dragging) move(event);
    });
    const stop = () => {
      dragging = false;
    };
    compare.addEventListener("pointerup", stop);
    compare.addEventListener("pointercancel", stop);
    setCompare(50);
  }


  // ----- which engine runs (GET /health) -----

  async function loadEngine() {
    const note = $("prompt-note");
    try {
      const response = await fetch("health", { cache: "no-store" });
      const body = await readJson(response);
      if (typeof body.engine !== "string") throw new Error("no engine in /health");
      state.engine = body;
    } catch (_) {
      note.textContent = "Could not ask the server which engine runs.";
      return;
    }
    const used = Boolean(state.engine.prompt_used);
    $("prompt-field").classList.toggle("unused", !used);
    note.textContent = used
      ? `Used: the running engine (${state.engine.engine}) follows the prompt.`
      : `Ignored: the running engine (${state.engine.engine}) has no text model.`;
  }

  // ----- keyboard and clipboard -----

  function isTextField(el) {
    if (!el) return false;
    if (el instanceof HTMLTextAreaElement || el.isContentEditable) return true;
    return (
      el instanceof HTMLInputElement &&
      !["range", "radio", "checkbox", "button", "submit", "file", "color"].includes(el.type)
    );
  }

  document.addEventListener("keydown", (event) => {
    if (isTextField(event.target)) return; // native undo / typing in fields
    const mod = event.ctrlKey || event.metaKey;
    if (mod && !event.shiftKey && event.key.toLowerCase() === "z") {
      event.preventDefault();
      undo();
    } else if (!mod && (event.key === "[" || event.key === "]")) {
      const step = event.key === "[" ? -4 : 4;
      brush.value = String(Number(brush.value) + step);
      brush.dispatchEvent(new Event("input"));
    }
  });

  document.addEventListener("paste", (event) => {
    const data = event.clipboardData;
    const file = data && firstImageFile(data.files);
    if (!file) return; // text: let fields paste as usual
    event.preventDefault();
    const active = document.activeElement;
    const toObject =
      active && ($("object-drop").contains(active) || active.id === "object-file");
    if (toObject) loadObject(file);
    else loadScene(file);
  });

  // Never let a drop outside the zones navigate away from the page.
  window.addEventListener("dragover", (event) => event.preventDefault());
  window.addEventListener("drop", (event) => event.preventDefault());

  // ----- wiring -----

  wireFileInput("scene-file", loadScene);
  wireFileInput("scene-file-2", loadScene);
  wireFileInput("object-file", loadObject);
  wireDropZone($("scene-drop"), loadScene);
  wireDropZone($("object-drop"), loadObject);
  wireCompare();

  $("object-clear").addEventListener("click", clearObject);
  $("undo").addEventListener("click", undo);
  $("use-as-scene").addEventListener("click", useAsScene);
  $("clear-mask").addEventListener("click", clearMask);
  $("invert-mask").addEventListener("click", () => editWhole((mask) => mask.invert()));
  $("grow-mask").addEventListener("click", () => editWhole((mask) => mask.grow(growStep())));
  $("shrink-mask").addEventListener("click", () => editWhole((mask) => mask.shrink(growStep())));
  $("save-mask").addEventListener("click", saveMask);
  wireFileInput("mask-file", loadMaskFile);
  for (const radio of document.querySelectorAll("input[name=tool]")) {
    radio.addEventListener("change", () => {
      stage.dataset.tool = currentTool();
      ring.hidden = true;
    });
  }
  $("reset-params").addEventListener("click", resetParams);
  $("seed-random").addEventListener("click", () => {
    $("seed").value = String(crypto.getRandomValues(new Uint32Array(1))[0]);
  });
  brush.addEventListener("input", () => {
    $("brush-size-out").textContent = `${brush.value} px`;
  });
  for (const input of form.querySelectorAll("input[type=range]")) {
    input.addEventListener("input", updateOutputs);
  }
  form.addEventListener("input", (event) => {
    if (event.target instanceof HTMLElement) event.target.removeAttribute("aria-invalid");
    // Warnings checked with another growmask: the next press checks again.
    if (event.target === $("growmask") && !state.busy) setBusy(false);
  });
  form.addEventListener("submit", submit);

  keyInput.addEventListener("input", saveKey);
  $("api-key-show").addEventListener("click", (event) => {
    const show = keyInput.type === "password";
    keyInput.type = show ? "text" : "password";
    event.currentTarget.setAttribute("aria-pressed", String(show));
    event.currentTarget.textContent = show ? "Hide" : "Show";
    event.currentTarget.setAttribute("aria-label", show ? "Hide the API key" : "Show the API key");
  });

  if (window.ResizeObserver) {
    new ResizeObserver(() => layoutStage()).observe($("scene-drop"));
  }
  window.addEventListener("resize", layoutStage);

  state.paramsReady = loadParamSchema();
  state.paramsReady.catch((error) => {
    setStatus("failed", `Could not read the parameters from the server (openapi.json): ${error.message}.`);
  });
  loadKey();
  loadEngine();
  stage.dataset.tool = currentTool();
  updateOutputs();
  updateMaskButtons();
  // Ready once the parameters have their ranges and defaults (or could not get them).
  const ready = () => {
    document.documentElement.dataset.ready = "true";
  };
  state.paramsReady.then(ready, ready);
})();
