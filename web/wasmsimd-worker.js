"use strict";
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
