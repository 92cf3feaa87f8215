// The checkpoint converter's Web Worker: it runs cmd/converter
// (web/converter.wasm), which finds the job in self.residualJob, so the
// conversion never holds the page's thread.
// One worker per conversion: a checkpoint that kills the Go program (out
// of memory) takes only this worker with it, and the page says so.
"use strict";
importScripts("/wasm_exec.js");

self.onmessage = async (e) => {
  self.residualJob = e.data;
  const go = new Go();
  try {
    const r = await WebAssembly.instantiateStreaming(fetch("/web/converter.wasm"), go.importObject);
    await go.run(r.instance);
  } catch (err) {
    self.postMessage({ type: "error", message: "the converter could not start: " + err });
  }
  // The Go program posts "done" or "error" before it returns; this tells
  // the page that it is over either way (a fatal error posts nothing).
  self.postMessage({ type: "exit" });
};
