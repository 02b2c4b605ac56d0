/**
 * standpipe's browser recorder, compatible with Pipe's embed code 2.0: <piperecorder>
 * elements and PipeSDK.insert(), the same recorder methods and events. Records with
 * MediaRecorder and uploads with tus (tus-client.js), so a dropped connection resumes where
 * it stopped; view.js builds the markup. The server serves the three as one script.
 */
/* global createTusUpload, pipeView */
(function () {
  'use strict';

  if (window.PipeSDK && window.PipeSDK.standpipe) return;

  const { h, clock, spoken, describeMediaError, buildView } = pipeView;

  const script = document.currentScript ||
    document.querySelector('script[src$="/2.0/pipe.js"]');
  // The server is wherever this script came from: a page moves by changing the host only.
  const BASE = script ? new URL('../', script.src).href.replace(/\/$/, '') : location.origin;

  const VIDEO_TYPES = ['video/webm;codecs=vp8,opus', 'video/webm;codecs=vp9,opus', 'video/webm',
    'video/mp4;codecs=avc1,mp4a', 'video/mp4'];
  const AUDIO_TYPES = ['audio/webm;codecs=opus', 'audio/webm', 'audio/mp4', 'audio/ogg'];
  const QUALITY = { '240p': 240, '360p': 360, '480p': 480, '720p': 720, '1080p': 1080 };

  function flag(value, fallback) {
    if (value === undefined || value === null || value === '') return fallback;
    return String(value) === '1' || value === true;
  }

  /** Attributes of a <piperecorder> element as PipeSDK.insert() parameters. */
  function paramsOf(el) {
    const p = {};
    Array.prototype.forEach.call(el.attributes, function (a) {
      const name = a.name.toLowerCase();
      if (name.indexOf('pipe-') === 0) p[name.slice(5)] = a.value;
    });
    return {
      size: { width: p.width, height: p.height },
      accountHash: p.accounthash, eid: p.eid, mrt: p.mrt, avrec: p.avrec, payload: p.payload,
      ao: p.ao, asv: p.asv, mv: p.mv, sis: p.sis, qualityurl: p.qualityurl,
    };
  }

  class Recorder {
    constructor(id, host, params) {
      this.id = id;
      this.host = host;
      const size = params.size || {};
      this.width = Number(size.width || params.width) || 640;
      this.height = Number(size.height || params.height) || 390;
      this.accountHash = params.accountHash || params.accounthash || '';
      this.eid = params.eid === undefined ? '' : String(params.eid);
      this.mrt = Math.max(1, Number(params.mrt) || 600);
      this.payload = params.payload === undefined ? '' : String(params.payload);
      this.audioOnly = flag(params.ao, false);
      this.canRecord = flag(params.avrec, true);
      this.autoSave = flag(params.asv, false);
      this.mirror = flag(params.mv, true);
      const quality = /(\d{3,4}p)/.exec(String(params.qualityurl || ''));
      this.quality = (quality && QUALITY[quality[1]]) || 480;
      this.streamName = '';
      this.state = 'idle';
      this.build();
    }

    build() {
      const ui = buildView(this.audioOnly, this.width, this.height);
      this.ui = ui;

      const on = (el, fn) => el.addEventListener('click', () => fn.call(this));
      on(ui.start, this.record);
      on(ui.record, this.record);
      on(ui.retry, this.retry);
      on(ui.stop, this.stopVideo);
      on(ui.play, this.playVideo);
      on(ui.pause, this.pause);
      on(ui.again, this.record);
      on(ui.save, this.save);
      ui.video.addEventListener('ended', () => {
        if (this.state !== 'playing') return;
        this.setState('recorded');
        this.fire('onPlaybackComplete', [this.id]);
      });
      this.host.textContent = '';
      this.host.appendChild(ui.root);
      this.setState(this.canRecord ? 'idle' : 'off');
      if (!this.canRecord) {
        this.showError({ title: 'Recording is turned off',
          text: 'This recorder was set up without recording (avrec is 0).' }, false);
      }
    }

    fire(name, args) {
      const handler = this[name];
      if (typeof handler !== 'function') return;
      try {
        handler.apply(this, args);
      } catch (err) {
        console.error('PipeSDK ' + name + ' handler failed', err);
      }
    }

    announce(text) {
      const status = this.ui.status;
      status.textContent = '';
      // A changed node is announced even when the same sentence comes twice.
      setTimeout(() => { status.textContent = text; }, 50);
    }

    /** Shows the controls that make sense now and moves focus to the next step's button. */
    setState(state) {
      this.state = state;
      const ui = this.ui;
      // Read before buttons are hidden: hiding the focused one sends focus to the page.
      const active = document.activeElement;
      const hadFocus = ui.root.contains(active) || active === document.body;
      ui.root.setAttribute('data-state', state);
      const show = {
        ready: ['record'], recording: ['stop'], recorded: ['play', 'again', 'save'],
        playing: ['pause', 'again', 'save'],
      }[state] || [];
      ['record', 'stop', 'play', 'pause', 'again', 'save'].forEach((name) => {
        ui[name].hidden = show.indexOf(name) < 0;
      });
      if (this.autoSave) ui.save.hidden = true;
      ui.controls.hidden = show.length === 0;
      ui.intro.hidden = state !== 'idle' && state !== 'requesting';
      ui.start.disabled = state === 'requesting';
      ui.rec.hidden = state !== 'recording';
      ui.timer.hidden = ['ready', 'recording', 'recorded', 'playing'].indexOf(state) < 0;
      ui.meter.hidden = !this.audioOnly || ['ready', 'recording'].indexOf(state) < 0;
      ui.done.hidden = state !== 'saved';
      if (state !== 'error' && state !== 'off') ui.error.hidden = true;
      const focus = { ready: ui.record, recording: ui.stop, playing: ui.pause,
        recorded: ui.save.hidden ? ui.play : ui.save }[state];
      if (focus && !focus.hidden && hadFocus) focus.focus();
    }

    showError(message, retry) {
      this.ui.errorTitle.textContent = message.title;
      this.ui.errorText.textContent = message.text;
      this.ui.retry.hidden = !retry;
      this.ui.error.hidden = false;
      this.ui.intro.hidden = true;
    }

    fail(message, retryAction) {
      this.retryAction = retryAction;
      this.setState('error');
      this.showError(message, true);
      const active = document.activeElement;
      if (this.ui.root.contains(active) || active === document.body) this.ui.retry.focus();
    }

    retry() {
      const action = this.retryAction || this.record;
      this.retryAction = null;
      action.call(this);
    }

    openDevices() {
      if (this.stream) return Promise.resolve(this.stream);
      if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
        return Promise.reject({ title: 'This page cannot use the camera',
          text: 'Recording needs a secure (https) page in a current browser.' });
      }
      if (typeof MediaRecorder === 'undefined') {
        return Promise.reject({ title: 'This browser cannot record',
          text: 'Use a current version of Chrome, Edge, Firefox or Safari.' });
      }
      const q = this.quality;
      const constraints = this.audioOnly ? { audio: true } : {
        audio: true, video: { height: { ideal: q }, width: { ideal: Math.round(q * 4 / 3) } },
      };
      this.setState('requesting');
      this.announce('Asking for your ' +
        (this.audioOnly ? 'microphone.' : 'camera and microphone.'));
      return navigator.mediaDevices.getUserMedia(constraints).then((stream) => {
        this.stream = stream;
        const cams = stream.getVideoTracks();
        const mics = stream.getAudioTracks();
        this.cameraName = cams[0] ? cams[0].label : '';
        this.micName = mics[0] ? mics[0].label : '';
        this.fire('onCamAccess', [this.id, true]);
        this.fire('userHasCamMic', [this.id, cams.length, mics.length]);
        this.live();
        if (this.audioOnly) this.startMeter(stream);
        return stream;
      }, (err) => {
        this.fire('onCamAccess', [this.id, false]);
        throw describeMediaError(err, this.audioOnly);
      });
    }

    /** The camera's picture in the stage, mirrored like a mirror unless mv is 0. */
    live() {
      const video = this.ui.video;
      video.removeAttribute('src');
      video.srcObject = this.stream;
      video.muted = true;
      video.classList.toggle('pipe-mirror', this.mirror);
      const started = video.play();
      if (started && started.catch) started.catch(() => {});
      this.ui.timer.textContent = clock(0) + ' / ' + clock(this.mrt);
    }

    startMeter(stream) {
      const Ctx = window.AudioContext || window.webkitAudioContext;
      if (!Ctx) return;
      const audio = new Ctx();
      const analyser = audio.createAnalyser();
      analyser.fftSize = 64;
      audio.createMediaStreamSource(stream).connect(analyser);
      const data = new Uint8Array(analyser.frequencyBinCount);
      const bars = this.ui.meter.querySelectorAll('i');
      this.audioContext = audio;
      const draw = () => {
        if (this.audioContext !== audio) return;
        analyser.getByteFrequencyData(data);
        for (let i = 0; i < bars.length; i += 1) {
          bars[i].style.transform = 'scaleY(' + (0.15 + (data[i * 2 + 1] || 0) / 300) + ')';
        }
        requestAnimationFrame(draw);
      };
      draw();
    }

    record() {
      const busy = ['recording', 'requesting', 'uploading', 'saved'];
      if (!this.canRecord || busy.indexOf(this.state) >= 0) return;
      this.discard();
      this.openDevices().then(() => this.begin(), (message) => this.fail(message, this.record));
    }

    begin() {
      const types = this.audioOnly ? AUDIO_TYPES : VIDEO_TYPES;
      const mimeType = types.filter((t) => MediaRecorder.isTypeSupported(t))[0];
      const media = new MediaRecorder(this.stream, mimeType ? { mimeType } : {});
      this.mimeType = media.mimeType || mimeType || (this.audioOnly ? 'audio/webm' : 'video/webm');
      this.chunks = [];
      media.ondataavailable = (e) => {
        if (e.data && e.data.size > 0) this.chunks.push(e.data);
      };
      media.onstop = () => this.finishRecording();
      this.media = media;
      this.live();
      media.start(1000);
      this.startedAt = performance.now();
      this.setState('recording');
      this.ui.stop.focus();
      this.announce('Recording. It stops by itself after ' + spoken(this.mrt) + '.');
      this.fire('onRecordingStarted', [this.id]);
      this.ticker = setInterval(() => this.tick(), 200);
    }

    tick() {
      const elapsed = (performance.now() - this.startedAt) / 1000;
      this.ui.timer.textContent = clock(elapsed) + ' / ' + clock(this.mrt);
      this.ui.timer.classList.toggle('pipe-timer-warn', this.mrt - elapsed <= 10);
      if (elapsed >= this.mrt) this.stopVideo();
    }

    stopVideo() {
      if (this.state === 'playing') {
        this.ui.video.pause();
        this.ui.video.currentTime = 0;
        this.setState('recorded');
        return;
      }
      if (this.state !== 'recording') return;
      clearInterval(this.ticker);
      this.duration = Math.min(this.mrt, (performance.now() - this.startedAt) / 1000);
      this.state = 'stopping';
      this.media.stop();
    }

    finishRecording() {
      this.blob = new Blob(this.chunks, { type: this.mimeType });
      this.chunks = [];
      this.playbackUrl = URL.createObjectURL(this.blob);
      const video = this.ui.video;
      video.srcObject = null;
      video.src = this.playbackUrl;
      video.muted = false;
      video.classList.remove('pipe-mirror');
      this.ui.timer.textContent = clock(this.duration) + ' recorded';
      this.ui.timer.classList.remove('pipe-timer-warn');
      this.setState('recorded');
      this.announce('Recording stopped after ' + spoken(this.duration) + '. ' +
        (this.autoSave ? 'Saving.' : 'Play it back, record again, or save it.'));
      this.fire('onRecordingStopped', [this.id]);
      if (this.autoSave) this.save();
    }

    playVideo() {
      if (!this.blob || (this.state !== 'recorded' && this.state !== 'playing')) return;
      const started = this.ui.video.play();
      this.setState('playing');
      this.fire('onPlaybackStarted', [this.id]);
      if (started && started.catch) started.catch(() => {});
    }

    pause() {
      if (this.state !== 'playing') return;
      this.ui.video.pause();
      this.setState('recorded');
      this.fire('onPlaybackPaused', [this.id]);
    }

    codecs() {
      const type = this.mimeType || '';
      const container = /mp4/.test(type) ? 'mp4' : /ogg/.test(type) ? 'ogg' : 'webm';
      let video = 'vp8';
      if (this.audioOnly) video = '';
      else if (/vp9/.test(type)) video = 'vp9';
      else if (/avc1|h264/.test(type) || container === 'mp4') video = 'h264';
      const audio = /mp4a|aac/.test(type) || container === 'mp4' ? 'aac' : 'opus';
      return { container, video, audio };
    }

    save() {
      if (!this.blob || ['recorded', 'playing', 'error'].indexOf(this.state) < 0) return;
      this.ui.video.pause();
      const codecs = this.codecs();
      const duration = Math.round(this.duration * 100) / 100;
      if (!this.upload) {
        this.upload = createTusUpload({
          endpoint: BASE + '/tus',
          file: this.blob,
          metadata: {
            accountHash: this.accountHash, eid: this.eid, payload: this.payload,
            filename: 'recording.' + codecs.container, filetype: this.mimeType,
            cameraName: this.cameraName, micName: this.micName, mrt: String(this.mrt),
          },
          onProgress: (sent, total) => this.progress(sent, total),
          onRetry: (attempt, delay) => {
            this.ui.progressText.textContent = 'Connection lost \u2014 retrying in ' +
              Math.ceil(delay / 1000) + ' s';
            this.ui.root.setAttribute('data-retries', String(attempt));
            if (attempt === 1) this.announce('Connection lost. The upload will resume.');
          },
        });
      }
      this.setState('uploading');
      this.ui.upload.hidden = false;
      this.lastSpoken = -1;
      this.progress(0, this.blob.size);
      this.announce('Uploading your recording.');
      this.upload.start().then((result) => this.saved(result, codecs, duration), (err) => {
        if (err.message === 'stopped') return;
        this.ui.upload.hidden = true;
        if (err.fatal) this.upload = null;
        this.fire('onUploadError', [this.id, err.message]);
        this.fail({ title: 'The recording was not saved', text: err.fatal ? err.message
          : 'The connection to the server failed. Check your network, then try again.' },
        this.save);
      });
    }

    saved(result, codecs, duration) {
      this.streamName = result.name;
      this.ui.upload.hidden = true;
      this.setState('saved');
      this.announce('Recording saved.');
      const where = new URL(BASE).host;
      this.fire('onUploadDone', [this.id, result.name, duration, codecs.audio, codecs.video,
        codecs.container, this.audioOnly, where]);
      this.fire('onSaveOk', [this.id, result.name, duration, this.cameraName || '',
        this.micName || '', codecs.audio, codecs.video, codecs.container, result.id,
        this.audioOnly, where]);
      this.release();
    }

    progress(sent, total) {
      const percent = total > 0 ? Math.floor((sent / total) * 100) : 0;
      this.ui.bar.style.width = percent + '%';
      this.ui.progress.setAttribute('aria-valuenow', String(percent));
      this.ui.progressText.textContent = 'Uploading\u2026 ' + percent + '%';
      this.fire('onUploadProgress', [this.id, percent]);
      // Screen readers hear every quarter, not every event.
      const quarter = Math.floor(percent / 25);
      if (quarter > this.lastSpoken && percent < 100) {
        if (this.lastSpoken >= 0) this.announce('Uploaded ' + percent + ' percent.');
        this.lastSpoken = quarter;
      }
    }

    download() {
      if (!this.blob) return;
      const a = h('a', { href: this.playbackUrl,
        download: (this.streamName || 'recording') + '.' + this.codecs().container });
      document.body.appendChild(a);
      a.click();
      a.remove();
    }

    getStreamName() {
      return this.streamName;
    }

    /** Drops the recording in hand and anything the server holds of its unfinished upload. */
    discard() {
      if (this.upload) void this.upload.terminate();
      this.upload = null;
      if (this.playbackUrl) URL.revokeObjectURL(this.playbackUrl);
      this.playbackUrl = null;
      this.blob = null;
      this.ui.upload.hidden = true;
      this.ui.root.removeAttribute('data-retries');
    }

    release() {
      if (this.stream) this.stream.getTracks().forEach((t) => t.stop());
      this.stream = null;
      if (this.audioContext) void this.audioContext.close();
      this.audioContext = null;
    }

    remove() {
      clearInterval(this.ticker);
      if (this.media && this.media.state !== 'inactive') this.media.stop();
      if (this.upload && this.state === 'uploading') this.upload.abort();
      else this.discard();
      this.release();
      this.ui.root.remove();
      delete recorders[this.id];
    }
  }

  const recorders = {};

  function insert(id, params, callback) {
    const host = document.getElementById(id);
    if (!host) throw new Error('PipeSDK.insert: no element with id "' + id + '"');
    if (recorders[id]) recorders[id].remove();
    const recorder = new Recorder(id, host, params || {});
    recorders[id] = recorder;
    if (typeof callback === 'function') callback(recorder);
    setTimeout(function () { recorder.fire('onReadyToRecord', [id, 'desktop']); }, 0);
    return recorder;
  }

  function insertTags() {
    const tags = document.querySelectorAll('piperecorder');
    const created = [];
    Array.prototype.forEach.call(tags, function (tag, i) {
      if (!tag.id) tag.id = 'pipe-recorder-' + (i + 1);
      if (recorders[tag.id]) return;
      const recorder = new Recorder(tag.id, tag, paramsOf(tag));
      recorders[tag.id] = recorder;
      created.push(recorder);
    });
    if (typeof window.PipeSDK.onRecordersInserted === 'function') {
      try {
        window.PipeSDK.onRecordersInserted();
      } catch (err) {
        if (window.console) console.error('PipeSDK onRecordersInserted failed', err);
      }
    }
    // Events come after onRecordersInserted, so handlers set there receive them.
    created.forEach(function (recorder) {
      recorder.fire('onReadyToRecord', [recorder.id, 'desktop']);
    });
  }

  window.PipeSDK = {
    standpipe: true,
    insert: insert,
    getRecorderById: function (id) { return recorders[id]; },
    onRecordersInserted: (window.PipeSDK && window.PipeSDK.onRecordersInserted) || null,
  };

  // Leaving while an upload runs would lose the recording: the browser asks first.
  window.addEventListener('beforeunload', (event) => {
    const busy = Object.keys(recorders).some((id) => recorders[id].state === 'uploading');
    if (busy) event.preventDefault();
  });

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', insertTags);
  else setTimeout(insertTags, 0);
})();
