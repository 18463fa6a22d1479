// segswap — the "swap by hand" page. Plain JavaScript, no build step, no dependencies.
//
// The mask is kept as a list of brush strokes in the scene's own pixel coordinates
// (naturalWidth × naturalHeight). The on-screen canvas is scaled with CSS and redrawn
// from the strokes when its size changes; on submit the strokes are replayed onto an
// offscreen canvas of the scene's full size, thresholded to pure black/white and sent
// as a PNG data URI. Scene and object are sent as loaded (their files' data URIs).
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);

  const KEY_STORAGE = "segswap.apiKey";
  const MASK_COLOR = "rgb(255, 32, 96)";
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
    strokes: [], // {erase, radius, points: [[x, y], ...]} in scene pixels
    current: null, // the stroke being drawn
    busy: false,
    resultUrl: null,
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
    submitButton.textContent = busy ? "Working…" : "Swap";
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
        message = `The API key was refused (401): ${text}. Enter a valid key under “API key”.`;
        focusId = "api-key";
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
    if (state.scene) URL.revokeObjectURL(state.scene.url);
    state.scene = scene;
    state.strokes = [];
    state.current = null;
    sceneImg.src = scene.url;
    $("scene-empty").hidden = true;
    $("other-scene").hidden = false;
    stage.hidden = false;
    $("result").hidden = true;
    layoutStage();
    updateMaskButtons();
    setStatus("idle", "Scene loaded. Paint over the region to edit.");
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

  // ----- mask: layout, strokes, drawing -----

  function layoutStage() {
    const scene = state.scene;
    if (!scene) return;
    const zone = $("scene-drop");
    const style = getComputedStyle(zone);
    const available =
      zone.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
    const maxHeight = Math.max(240, window.innerHeight * 0.72);
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
    return [x, y];
  }

  function brushRadiusInScene() {
    const rect = canvas.getBoundingClientRect();
    return (Number(brush.value) / 2) * (state.scene.width / rect.width);
  }

  // Draw points[from..] of a stroke (from > 0: only the new segment). For the screen,
  // erasing cuts the painted colour away; for the export it paints black on white.
  function paintStroke(target, stroke, scale, from, forExport) {
    const points = stroke.points;
    target.save();
    target.scale(scale, scale);
    if (forExport) {
      target.globalCompositeOperation = "source-over";
      target.fillStyle = target.strokeStyle = stroke.erase ? "#000" : "#fff";
    } else {
      target.globalCompositeOperation = stroke.erase ? "destination-out" : "source-over";
      target.fillStyle = target.strokeStyle = MASK_COLOR;
    }
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

  function redrawMask() {
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    const scale = displayScale();
    for (const stroke of state.strokes) paintStroke(ctx, stroke, scale, 0, false);
  }

  function updateMaskButtons() {
    $("undo").disabled = state.strokes.length === 0;
    $("clear-mask").disabled = state.strokes.length === 0;
  }

  function undo() {
    if (!state.strokes.length) return;
    state.strokes.pop();
    state.current = null;
    redrawMask();
    updateMaskButtons();
  }

  function clearMask() {
    state.strokes = [];
    state.current = null;
    redrawMask();
    updateMaskButtons();
  }

  function currentTool() {
    return $("tool-erase").checked ? "erase" : "paint";
  }

  function moveRing(event) {
    const rect = stage.getBoundingClientRect();
    const size = Number(brush.value);
    ring.style.width = ring.style.height = `${size}px`;
    ring.style.left = `${event.clientX - rect.left - size / 2}px`;
    ring.style.top = `${event.clientY - rect.top - size / 2}px`;
    ring.classList.toggle("erase", currentTool() === "erase");
    ring.hidden = false;
  }

  canvas.addEventListener("pointerdown", (event) => {
    if (!state.scene || event.button !== 0) return;
    event.preventDefault();
    // Painting leaves any text field, so that Ctrl+Z undoes the stroke.
    if (isTextField(document.activeElement)) document.activeElement.blur();
    canvas.setPointerCapture(event.pointerId);
    const stroke = {
      erase: currentTool() === "erase",
      radius: brushRadiusInScene(),
      points: [toScene(event)],
    };
    state.current = stroke;
    state.strokes.push(stroke);
    paintStroke(ctx, stroke, displayScale(), 0, false);
    updateMaskButtons();
    $("scene-drop").classList.remove("invalid");
  });

  canvas.addEventListener("pointermove", (event) => {
    moveRing(event);
    const stroke = state.current;
    if (!stroke) return;
    const events = event.getCoalescedEvents ? event.getCoalescedEvents() : [];
    const from = stroke.points.length;
    for (const e of events.length ? events : [event]) {
      const point = toScene(e);
      const last = stroke.points[stroke.points.length - 1];
      if (Math.hypot(point[0] - last[0], point[1] - last[1]) >= 0.5) stroke.points.push(point);
    }
    if (stroke.points.length > from) paintStroke(ctx, stroke, displayScale(), from, false);
  });

  const endStroke = () => {
    state.current = null;
  };
  canvas.addEventListener("pointerup", endStroke);
  canvas.addEventListener("pointercancel", endStroke);
  canvas.addEventListener("pointerleave", () => {
    ring.hidden = true;
  });

  async function renderMask() {
    const { width, height } = state.scene;
    const off = document.createElement("canvas");
    off.width = width;
    off.height = height;
    const octx = off.getContext("2d", { willReadFrequently: true });
    octx.fillStyle = "#000";
    octx.fillRect(0, 0, width, height);
    for (const stroke of state.strokes) paintStroke(octx, stroke, 1, 0, true);
    // Anti-aliased edges -> pure black or white (the server's threshold is > 127).
    const image = octx.getImageData(0, 0, width, height);
    const data = image.data;
    let white = 0;
    for (let i = 0; i < data.length; i += 4) {
      const v = data[i] > 127 ? 255 : 0;
      white += v & 1;
      data[i] = v;
      data[i + 1] = v;
      data[i + 2] = v;
      data[i + 3] = 255;
    }
    octx.putImageData(image, 0, 0);
    const blob = await canvasToBlob(off, "image/png");
    return { dataUrl: await blobToDataUrl(blob), white, width, height };
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

  function updateOutputs() {
    for (const out of form.querySelectorAll("output[data-shows]")) {
      const input = $(out.dataset.shows);
      out.textContent = Number(input.value).toFixed(2);
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
      if (!state.strokes.some((stroke) => !stroke.erase)) {
        throw new UserError("Paint over the region to edit first: the mask is empty.", "scene-drop");
      }
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
      const headers = { "content-type": "application/json", ...authHeaders() };
      setBusy(true);
      setStatus("working", "Preparing the mask…");
      const mask = await renderMask();
      if (mask.white === 0) {
        throw new UserError("The mask is empty (everything painted was erased).", "scene-drop");
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
    const inference = result.metrics && Number(result.metrics.inference_time);
    setStatus(
      "done",
      `Done in ${elapsed()} s` +
        (Number.isFinite(inference) ? ` (inference ${inference.toFixed(2)} s).` : "."),
    );
  }

  async function showResult(blob, result, job) {
    if (state.resultUrl) URL.revokeObjectURL(state.resultUrl);
    const url = URL.createObjectURL(blob);
    state.resultUrl = url;
    const after = $("result-img");
    after.src = url;
    $("before-img").src = state.scene.url;
    const ext = { "image/jpeg": "jpg", "image/webp": "webp" }[blob.type] || "png";
    const download = $("download");
    download.href = url;
    download.download = `segswap-${job.request_id}.${ext}`;
    const link = $("output-link");
    if (/^https?:/i.test(String(result.output))) {
      link.href = result.output;
      link.hidden = false;
    } else {
      link.hidden = true;
    }
    $("result").hidden = false;
    layoutStage();
    try {
      await after.decode();
    } catch (_) {
      throw new UserError("The result is not an image this browser can show.");
    }
    $("result-info").textContent =
      `${after.naturalWidth}×${after.naturalHeight} px, ${blob.type || "image"}, ` +
      `${formatBytes(blob.size)}. Drag across the image to compare.`;
    $("result").scrollIntoView({ block: "nearest" });
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
  $("clear-mask").addEventListener("click", clearMask);
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

  loadKey();
  updateOutputs();
  updateMaskButtons();
  document.documentElement.dataset.ready = "true";
})();
