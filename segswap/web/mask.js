// segswap — the page's mask: one byte per scene pixel (1 = edit), at the scene's own size.
// Pure functions and a small class, no DOM beyond canvases; used by app.js as
// window.SegswapMask. Grow and shrink use an exact Euclidean distance transform
// (Felzenszwalb & Huttenlocher) limited to the mask's box plus the distance, so their
// cost follows the mask, not the scene.
"use strict";

(() => {
  // Share of pixels in 32..223 above which a loaded mask is "not black and white"
  // (the same rule as the server's mask doctor, segswap/engine/mask_doctor.py).
  const GREY_SHARE = 0.01;

  class Mask {
    constructor(width, height, data) {
      this.width = width;
      this.height = height;
      this.data = data || new Uint8Array(width * height);
    }

    copy() {
      return new Mask(this.width, this.height, this.data.slice());
    }

    count() {
      let n = 0;
      const d = this.data;
      for (let i = 0; i < d.length; i += 1) n += d[i];
      return n;
    }

    isEmpty() {
      const d = this.data;
      for (let i = 0; i < d.length; i += 1) if (d[i]) return false;
      return true;
    }

    // [left, top, right, bottom] of the set pixels (right/bottom exclusive), or null.
    bounds() {
      const { width, height, data } = this;
      let left = width;
      let right = -1;
      let top = -1;
      let bottom = -1;
      for (let y = 0; y < height; y += 1) {
        const row = y * width;
        let first = -1;
        let last = -1;
        for (let x = 0; x < width; x += 1) {
          if (data[row + x]) {
            if (first < 0) first = x;
            last = x;
          }
        }
        if (first >= 0) {
          if (top < 0) top = y;
          bottom = y;
          if (first < left) left = first;
          if (last > right) right = last;
        }
      }
      return top < 0 ? null : [left, top, right + 1, bottom + 1];
    }

    invert() {
      const d = this.data;
      for (let i = 0; i < d.length; i += 1) d[i] = d[i] ? 0 : 1;
    }

    // this |= other (same size)
    union(other) {
      const a = this.data;
      const b = other.data;
      for (let i = 0; i < a.length; i += 1) if (b[i]) a[i] = 1;
    }

    // Pixels within `radius` px (Euclidean) of the mask join it.
    grow(radius) {
      if (radius <= 0) return;
      const box = this.bounds();
      if (!box) return;
      const area = expand(box, radius + 1, this.width, this.height);
      const dist = distanceTo(this, area, 1);
      this.apply(area, dist, (inside, d2) => inside || d2 <= radius * radius);
    }

    // Pixels within `radius` px of the outside leave the mask.
    shrink(radius) {
      if (radius <= 0) return;
      const box = this.bounds();
      if (!box) return;
      const area = expand(box, 1, this.width, this.height);
      const dist = distanceTo(this, area, 0);
      this.apply(area, dist, (inside, d2) => inside && d2 > radius * radius);
    }

    apply(area, dist, rule) {
      const [left, top, right, bottom] = area;
      const w = right - left;
      for (let y = top; y < bottom; y += 1) {
        for (let x = left; x < right; x += 1) {
          const i = y * this.width + x;
          this.data[i] = rule(this.data[i] === 1, dist[(y - top) * w + (x - left)]) ? 1 : 0;
        }
      }
    }

    // Set (value 1) or clear (0) the pixels where `alpha` (RGBA bytes of a canvas region
    // at [left, top] of size w×h) is above 127.
    stamp(rgba, left, top, w, h, value) {
      for (let y = 0; y < h; y += 1) {
        const sy = top + y;
        if (sy < 0 || sy >= this.height) continue;
        for (let x = 0; x < w; x += 1) {
          const sx = left + x;
          if (sx < 0 || sx >= this.width) continue;
          if (rgba[(y * w + x) * 4 + 3] > 127) this.data[sy * this.width + sx] = value;
        }
      }
    }

    // The mask as a black/white RGBA canvas of its size (for export).
    toCanvas() {
      const c = document.createElement("canvas");
      c.width = this.width;
      c.height = this.height;
      const cx = c.getContext("2d");
      const image = cx.createImageData(this.width, this.height);
      const out = image.data;
      const d = this.data;
      for (let i = 0; i < d.length; i += 1) {
        const v = d[i] ? 255 : 0;
        const j = i * 4;
        out[j] = v;
        out[j + 1] = v;
        out[j + 2] = v;
        out[j + 3] = 255;
      }
      cx.putImageData(image, 0, 0);
      return c;
    }

    // Coloured where set, transparent elsewhere, into `target` (a canvas of the mask's
    // size), for display.
    paintInto(target, rgb) {
      const cx = target.getContext("2d");
      const image = cx.createImageData(this.width, this.height);
      const out = image.data;
      const d = this.data;
      for (let i = 0; i < d.length; i += 1) {
        if (!d[i]) continue;
        const j = i * 4;
        out[j] = rgb[0];
        out[j + 1] = rgb[1];
        out[j + 2] = rgb[2];
        out[j + 3] = 255;
      }
      cx.putImageData(image, 0, 0);
    }
  }

  function expand(box, by, width, height) {
    return [
      Math.max(0, box[0] - by),
      Math.max(0, box[1] - by),
      Math.min(width, box[2] + by),
      Math.min(height, box[3] + by),
    ];
  }

  // 1-D squared distance transform of f[0..n) into d (Felzenszwalb & Huttenlocher).
  function edt1d(f, n, d, v, z) {
    const cross = (q, p) => (f[q] + q * q - (f[p] + p * p)) / (2 * q - 2 * p);
    let k = 0;
    v[0] = 0;
    z[0] = -Infinity;
    z[1] = Infinity;
    for (let q = 1; q < n; q += 1) {
      let s = cross(q, v[k]);
      while (s <= z[k]) {
        k -= 1;
        s = cross(q, v[k]);
      }
      k += 1;
      v[k] = q;
      z[k] = s;
      z[k + 1] = Infinity;
    }
    k = 0;
    for (let q = 0; q < n; q += 1) {
      while (z[k + 1] < q) k += 1;
      d[q] = (q - v[k]) * (q - v[k]) + f[v[k]];
    }
  }

  // Squared distance, over `area` of `mask`, to the nearest pixel of the area whose value
  // is `target`. Pixels beyond the area are never read: the scene's edge does not count
  // as background when shrinking.
  function distanceTo(mask, area, target) {
    const [left, top, right, bottom] = area;
    const w = right - left;
    const h = bottom - top;
    const INF = 1e20;
    const grid = new Float64Array(w * h);
    for (let y = 0; y < h; y += 1) {
      for (let x = 0; x < w; x += 1) {
        const value = mask.data[(y + top) * mask.width + (x + left)];
        grid[y * w + x] = value === target ? 0 : INF;
      }
    }
    const n = Math.max(w, h);
    const f = new Float64Array(n);
    const d = new Float64Array(n);
    const v = new Int32Array(n);
    const z = new Float64Array(n + 1);
    for (let x = 0; x < w; x += 1) {
      for (let y = 0; y < h; y += 1) f[y] = grid[y * w + x];
      edt1d(f, h, d, v, z);
      for (let y = 0; y < h; y += 1) grid[y * w + x] = d[y];
    }
    for (let y = 0; y < h; y += 1) {
      for (let x = 0; x < w; x += 1) f[x] = grid[y * w + x];
      edt1d(f, w, d, v, z);
      for (let x = 0; x < w; x += 1) grid[y * w + x] = d[x];
    }
    return grid;
  }

  // A mask read from RGBA pixels the way the server reads a mask image: from the alpha
  // when it varies, else from the luminance; > 127 = edit. Also returns the share of
  // grey pixels (32..223) so the page can say a file was not black and white.
  function fromRgba(rgba, width, height) {
    const n = width * height;
    let alphaVaries = false;
    for (let i = 0; i < n; i += 1) {
      if (rgba[i * 4 + 3] < 255) {
        alphaVaries = true;
        break;
      }
    }
    const mask = new Mask(width, height);
    let grey = 0;
    for (let i = 0; i < n; i += 1) {
      const j = i * 4;
      const level = alphaVaries
        ? rgba[j + 3]
        : Math.round(0.299 * rgba[j] + 0.587 * rgba[j + 1] + 0.114 * rgba[j + 2]);
      mask.data[i] = level > 127 ? 1 : 0;
      if (level >= 32 && level <= 223) grey += 1;
    }
    return { mask, greyShare: grey / Math.max(1, n), notBinary: grey / Math.max(1, n) > GREY_SHARE };
  }

  window.SegswapMask = { Mask, fromRgba };
})();
