// Helpers shared by the peer pages of bench/peers (see ../README.md, "The
// page contract"). A page loads its runtime, fetches the shared input and
// then calls defineBench({load, run}); on any setup error it calls
// benchFailed(err) so the harness stops waiting at once.
"use strict";

const params = new URLSearchParams(location.search);

// loadScript adds a classic <script> and resolves once it has run.
function loadScript(src) {
  return new Promise((resolve, reject) => {
    const s = document.createElement("script");
    s.src = src;
    s.onload = () => resolve();
    s.onerror = () => reject(new Error("cannot load " + src));
    document.head.appendChild(s);
  });
}

// fetchInput returns the harness's one preprocessed photo as a Float32Array:
// layout "nchw" ([1,3,224,224]) or "nhwc" ([1,224,224,3]), Caffe
// preprocessing (BGR, 0-255 minus mean) already applied. Served from
// /harness/, which does not count toward a peer's downloaded bytes.
async function fetchInput(layout) {
  const r = await fetch("/harness/input-" + layout + ".bin");
  if (!r.ok) throw new Error("input " + layout + ": HTTP " + r.status);
  const x = new Float32Array(await r.arrayBuffer());
  if (x.length !== 3 * 224 * 224) throw new Error("input " + layout + ": " + x.length + " values");
  return x;
}

// adapterInfo describes the page's WebGPU adapter (null without WebGPU).
async function adapterInfo() {
  if (!navigator.gpu) return null;
  const a = await navigator.gpu.requestAdapter();
  if (!a) return null;
  const i = a.info || {};
  return {vendor: i.vendor, architecture: i.architecture, device: i.device, description: i.description,
    isFallbackAdapter: i.isFallbackAdapter ?? a.isFallbackAdapter ?? null};
}

function status(text) {
  const el = document.getElementById("status");
  if (el) el.textContent = text;
}

// defineBench publishes the page's bench object and the time the page took
// to get there (runtime scripts downloaded and parsed, input fetched).
function defineBench(b) {
  window.benchReadyAt = performance.now();
  window.bench = b;
  status("ready");
}

// benchFailed reports a setup error to the harness.
function benchFailed(err) {
  window.benchError = String((err && err.stack) || err);
  status("failed: " + window.benchError);
  console.error(window.benchError);
}
