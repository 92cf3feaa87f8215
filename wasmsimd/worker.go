package wasmsimd

// WorkerJS is the Web Worker script that runs one more instance of the
// kernel module in the browser: it is sent the compiled module, the
// shared memory, the control block, its part and its stack, says it is
// ready, then lives in the module's worker loop (which sleeps in
// memory.atomic.wait between calls). A trap is reported, counted as
// done (so that the page's thread, which spins for the workers, does not
// hang) and the loop entered again. Serve it from the app's own origin
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
  const ctl = new Int32Array(d.memory.buffer, d.ctl, 2); // SEQ, DONE
  let seen = d.seen;
  for (;;) {
    try {
      inst.exports.worker(d.ctl, d.part, seen);
      return;
    } catch (err) {
      postMessage({ error: "worker " + d.part + ": " + err });
      seen = Atomics.load(ctl, 0);
      Atomics.add(ctl, 1, 1);
      Atomics.notify(ctl, 1);
    }
  }
};
`
