// The weight file's download, in a Web Worker of its own so that the
// page's thread never handles the 25 MB body: the browser delivers a
// response's bytes on the thread that reads it, in tasks of hundreds of
// milliseconds on a slow machine, and each chunk would wake the page's Go
// program. Here the file comes from Cache Storage when it is there (no
// network at all), else from the network with "no-cache" (the HTTP cache
// asks the server first, so a copy forgotten from Cache Storage never comes
// back offline) and is put into Cache Storage as it streams in. The page
// (app/modelfetch_js.go) gets:
//   {type: "progress", loaded, total, cached} at most every 50 ms,
//   {type: "head", bytes} once: the file's first bytes up to the end of its
//     safetensors header, so that the GPU can compile while the rest comes,
//   {type: "done", size, cached, stored}: the whole file is here; it stays
//     here, and the page reads ranges of it (below) and ends the worker to
//     free it; stored says Cache Storage holds it, so the page may do that
//     and ask a new worker for the file when it needs it again,
//   {type: "error", message}.
"use strict";

// readAll reads a response's body into one ArrayBuffer, posting progress
// and the header's bytes on the way.
async function readAll(url, resp, limit, cached) {
  let total = Number(resp.headers.get("Content-Length") || 0);
  if (!(total >= 0) || total > limit) {
    throw new Error(`${url}: Content-Length ${total} out of range (limit ${limit} bytes)`);
  }
  if (!resp.body) throw new Error(`${url}: response has no body`);
  const reader = resp.body.getReader();
  let buf = new Uint8Array(total || 1 << 20);
  let loaded = 0;
  let headSent = false;
  let last = 0;
  self.postMessage({ type: "progress", loaded: 0, total, cached });
  for (;;) {
    let r;
    try {
      r = await reader.read();
    } catch (err) {
      throw new Error(`${url}: download interrupted after ${loaded} bytes: ${err}`);
    }
    if (r.done) break;
    const chunk = r.value;
    if (loaded + chunk.length > limit) {
      reader.cancel();
      throw new Error(`${url}: larger than the ${limit}-byte limit`);
    }
    if (loaded + chunk.length > buf.length) {
      // No (or a wrong) Content-Length: grow by doubling.
      const bigger = new Uint8Array(Math.min(limit, Math.max(2 * buf.length, loaded + chunk.length)));
      bigger.set(buf.subarray(0, loaded));
      buf = bigger;
    }
    buf.set(chunk, loaded);
    loaded += chunk.length;
    if (!headSent && loaded >= 8) {
      // A safetensors file starts with its header's length (u64, little-endian).
      const n = new DataView(buf.buffer).getUint32(0, true) + 2 ** 32 * new DataView(buf.buffer).getUint32(4, true);
      const end = n <= 100 << 20 ? 8 + n : 8;
      if (loaded >= end) {
        self.postMessage({ type: "head", bytes: buf.slice(0, end).buffer });
        headSent = true;
      }
    }
    const now = performance.now();
    if (now - last >= 50) {
      last = now;
      self.postMessage({ type: "progress", loaded, total: Math.max(total, loaded), cached });
    }
  }
  if (total && loaded !== total) {
    throw new Error(`${url}: download interrupted after ${loaded} of ${total} bytes`);
  }
  self.postMessage({ type: "progress", loaded, total: loaded, cached });
  return buf.length === loaded ? buf.buffer : buf.slice(0, loaded).buffer;
}

async function load(job) {
  const { url, cacheName, limit } = job;
  let cache = null;
  try {
    if (self.caches) cache = await caches.open(cacheName);
  } catch (err) {
    cache = null; // Cache Storage refused (an insecure origin): download only
  }
  if (cache) {
    const hit = await cache.match(url);
    if (hit) {
      try {
        return { buffer: await readAll(url, hit, limit, true), cached: true, stored: true };
      } catch (err) {
        await cache.delete(url); // unreadable entry: fetch again
      }
    }
  }
  let resp;
  try {
    resp = await fetch(url, { cache: "no-cache" });
  } catch (err) {
    throw new Error(`the model is not in this browser's cache and the download failed: fetch ${url}: ${err}`);
  }
  if (resp.status !== 200) {
    throw new Error(`the model is not in this browser's cache and the download failed: fetch ${url}: HTTP ${resp.status} ${resp.statusText}`);
  }
  // The clone streams into the cache as the original is read; a failed
  // download rejects the put and leaves no partial entry.
  // A read again (job.store false) leaves the cache as the visitor left
  // it: after "Forget" the file must not come back into it.
  const put = cache && job.store !== false ? cache.put(url, resp.clone()) : null;
  let buffer;
  try {
    buffer = await readAll(url, resp, limit, false);
  } catch (err) {
    throw new Error(`download ${err.message}`);
  }
  let stored = false;
  if (put) {
    try {
      await put;
      stored = true;
    } catch (err) {
      console.warn("residual: could not cache the model:", err);
    }
  }
  return { buffer, cached: false, stored };
}

// The file, once loaded: the page reads it a range at a time and ends
// the worker to free it.
let file = null;

self.onmessage = async (e) => {
  const job = e.data;
  if (job.type === "read") {
    // {type: "read", off, n, buffer}: copy n bytes at off into buffer
    // (the page's, transferred here and back) → {type: "bytes", buffer}.
    try {
      const { off, n, buffer } = job;
      if (!file) throw new Error("no file loaded");
      if (!(off >= 0 && n >= 0 && off + n <= file.byteLength && n <= buffer.byteLength)) {
        throw new Error(`read of ${n} bytes at ${off} outside the ${file.byteLength}-byte file`);
      }
      new Uint8Array(buffer, 0, n).set(new Uint8Array(file, off, n));
      self.postMessage({ type: "bytes", buffer }, [buffer]);
    } catch (err) {
      self.postMessage({ type: "error", message: err && err.message ? err.message : String(err) });
    }
    return;
  }
  try {
    const { buffer, cached, stored } = await load(job);
    file = buffer;
    self.postMessage({ type: "done", size: buffer.byteLength, cached, stored });
  } catch (err) {
    self.postMessage({ type: "error", message: err && err.message ? err.message : String(err) });
  }
};
