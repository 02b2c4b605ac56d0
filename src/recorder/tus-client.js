/**
 * A small tus 1.0 client: creates an upload, sends it with PATCH, and after any failure asks
 * the server with HEAD how far it got and goes on from there. Loaded by pipe.js as part of
 * the same file (the server joins them), so it defines one global-free factory.
 */
// eslint-disable-next-line @typescript-eslint/no-unused-vars -- pipe.js, served after it, calls it
function createTusUpload(options) {
  'use strict';

  const TUS = '1.0.0';
  const chunkSize = options.chunkSize || 8 * 1024 * 1024;
  const maxAttempts = options.maxAttempts || 40;
  const stallMs = options.stallMs || 30000;
  const file = options.file;
  const state = { url: null, offset: null, attempt: 0, xhr: null, stopped: false,
    restarted: false };

  function fail(message, fatal, status) {
    const err = new Error(message);
    err.fatal = fatal;
    err.status = status || 0;
    return err;
  }

  function encodeMetadata(meta) {
    return Object.keys(meta).filter(function (k) {
      return meta[k] !== undefined && meta[k] !== null && meta[k] !== '';
    }).map(function (k) {
      const bytes = new TextEncoder().encode(String(meta[k]));
      let bin = '';
      for (let i = 0; i < bytes.length; i += 1) bin += String.fromCharCode(bytes[i]);
      return k + ' ' + btoa(bin);
    }).join(',');
  }

  /** One request; resolves with the XHR once answered, rejects on network failure. */
  function request(method, url, headers, body, onProgress) {
    return new Promise(function (resolve, reject) {
      const xhr = new XMLHttpRequest();
      state.xhr = xhr;
      let watchdog = null;
      const arm = function () {
        clearTimeout(watchdog);
        // A connection that carries nothing for this long is treated as dropped.
        watchdog = setTimeout(function () { xhr.abort(); }, stallMs);
      };
      xhr.open(method, url, true);
      xhr.setRequestHeader('Tus-Resumable', TUS);
      Object.keys(headers).forEach(function (k) { xhr.setRequestHeader(k, headers[k]); });
      if (onProgress && xhr.upload) {
        xhr.upload.onprogress = function (e) {
          arm();
          onProgress(e.loaded);
        };
      }
      xhr.onload = function () {
        clearTimeout(watchdog);
        resolve(xhr);
      };
      xhr.onerror = xhr.onabort = xhr.ontimeout = function () {
        clearTimeout(watchdog);
        reject(fail(state.stopped ? 'stopped' : 'network', state.stopped));
      };
      arm();
      xhr.send(body === undefined ? null : body);
    });
  }

  function serverMessage(xhr) {
    try {
      return JSON.parse(xhr.responseText).message || 'HTTP ' + xhr.status;
    } catch {
      return 'HTTP ' + xhr.status;
    }
  }

  /** 4xx answers other than these mean the request itself is wrong: retrying cannot help. */
  function retryable(status) {
    return status === 0 || status === 409 || status === 423 || status === 429 || status >= 500;
  }

  function check(xhr, expected) {
    if (expected.indexOf(xhr.status) >= 0) return xhr;
    throw fail(serverMessage(xhr), !retryable(xhr.status), xhr.status);
  }

  function finished(xhr) {
    const id = xhr.getResponseHeader('Standpipe-Video-Id');
    return id ? { id: Number(id), name: xhr.getResponseHeader('Standpipe-Video-Name') || '' }
      : null;
  }

  function create() {
    return request('POST', options.endpoint, {
      'Upload-Length': String(file.size),
      'Upload-Metadata': encodeMetadata(options.metadata || {}),
    }).then(function (xhr) {
      check(xhr, [201]);
      state.url = new URL(xhr.getResponseHeader('Location'), options.endpoint).href;
      state.offset = 0;
    });
  }

  function head() {
    return request('HEAD', state.url, {}).then(function (xhr) {
      if (xhr.status === 404 || xhr.status === 410) {
        // The server no longer has it (expired or removed): start over.
        state.url = null;
        state.offset = null;
        return null;
      }
      check(xhr, [200]);
      state.offset = Number(xhr.getResponseHeader('Upload-Offset'));
      return finished(xhr);
    });
  }

  function patch() {
    const start = state.offset;
    const end = Math.min(start + chunkSize, file.size);
    const report = function (loaded) {
      if (options.onProgress) options.onProgress(Math.min(start + loaded, file.size), file.size);
    };
    return request('PATCH', state.url, {
      'Upload-Offset': String(start),
      'Content-Type': 'application/offset+octet-stream',
    }, file.slice(start, end), report).then(function (xhr) {
      check(xhr, [204]);
      state.offset = Number(xhr.getResponseHeader('Upload-Offset'));
      state.attempt = 0;
      report(state.offset - start);
      return finished(xhr);
    });
  }

  function pause(ms) {
    return new Promise(function (resolve) {
      const done = function () {
        window.removeEventListener('online', done);
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(done, ms);
      // Back online: no reason to sit out the rest of the wait.
      window.addEventListener('online', done);
    });
  }

  function step() {
    if (state.stopped) return Promise.reject(fail('stopped', true));
    if (state.url === null) return create().then(step);
    if (state.offset === null) {
      return head().then(function (result) {
        return result || step();
      });
    }
    return patch().then(function (result) {
      return result || step();
    });
  }

  function run() {
    return step().catch(function (err) {
      const lost = (err.status === 404 || err.status === 410) && state.url !== null;
      if (lost && !state.stopped && !state.restarted) {
        // The server lost the upload (expired, or its bytes are elsewhere): start over once.
        state.restarted = true;
        state.url = null;
        state.offset = null;
        return run();
      }
      if (err.fatal || state.attempt >= maxAttempts) throw err;
      state.attempt += 1;
      state.offset = null;
      const delay = Math.min(10000, 500 * Math.pow(2, state.attempt - 1));
      if (options.onRetry) options.onRetry(state.attempt, delay, err);
      return pause(delay).then(run);
    });
  }

  return {
    start: run,
    abort: function () {
      state.stopped = true;
      if (state.xhr) state.xhr.abort();
    },
    /** Removes what the server holds of an upload that will not be finished. */
    terminate: function () {
      state.stopped = true;
      if (state.xhr) state.xhr.abort();
      if (state.url === null) return Promise.resolve();
      const url = state.url;
      state.url = null;
      return request('DELETE', url, {}).then(function () {}, function () {});
    },
    get url() { return state.url; },
  };
}
