package wasmsimd

// WorkerJS is the Web Worker script that runs one more instance of the
// kernel module in the browser: it is sent the compiled module, the
// shared memory, the control block, its part and its stack, says it is
// ready, then lives in the module's worker loop (which sleeps in
// memory.atomic.wait between calls). A trap is reported (the engine
// returns it from a later call), its part counted as done (so that the
// page's thread, which spins until all are, does not hang) and the loop
// entered again. Serve it from the app's own origin
// and pass its URL as Options.WorkerURL where the page's
// Content-Security-Policy allows no blob: workers.
const WorkerJS = `"use strict";
// Residual's wasm SIMD worker (wasmsimd.WorkerJS).
onmessage = (e) => {
  const d = e.data;
  let inst;
  try {
    inst = new WebAssembly.Instance(d.module, { env: { memory: d.memory } });
    inst.exports.__stack_pointer.value = d.stack;
  } catch (err) {
    postMessage({ error: String(err) });
    return;
  }
  postMessage({ ready: true });
  const done = new Int32Array(d.memory.buffer, d.ctl + 8, 1); // CTL_DONE
  for (;;) {
    try {
      inst.exports.worker(d.ctl, d.part);
      return;
    } catch (err) {
      postMessage({ error: "worker " + d.part + ": " + err });
      Atomics.add(done, 0, 1);
    }
  }
};
`
