package wasmsimd

// workerJSPath is where TestBrowser's page serves WorkerJS.
const workerJSPath = "/wasmsimd-worker.js"
