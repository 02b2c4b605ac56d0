/**
 * The recorder's markup, built with DOM calls (no HTML from data), and the words it uses.
 * Served with tus-client.js and pipe.js in one script; pipe.js reads it as pipeView.
 */
// eslint-disable-next-line @typescript-eslint/no-unused-vars -- pipe.js, served after it, uses it
const pipeView = (function () {
  'use strict';

  const ICONS = {
    camera: '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M4 7h11a2 2 0 0 1 2 2v1.5' +
      'l3.6-2.4A.9.9 0 0 1 22 8.8v6.4a.9.9 0 0 1-1.4.7L17 13.5V15a2 2 0 0 1-2 2H4a2 2 0 0 1' +
      '-2-2V9a2 2 0 0 1 2-2z"/></svg>',
    mic: '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M12 3a3 3 0 0 1 3 3v6a3 3 0 0' +
      ' 1-6 0V6a3 3 0 0 1 3-3zm-7 9h2a5 5 0 0 0 10 0h2a7 7 0 0 1-6 6.9V21h-2v-2.1A7 7 0 0 1 ' +
      '5 12z"/></svg>',
    record: '<svg viewBox="0 0 24 24" aria-hidden="true"><circle cx="12" cy="12" r="7"/></svg>',
    stop: '<svg viewBox="0 0 24 24" aria-hidden="true"><rect x="6" y="6" width="12" ' +
      'height="12" rx="2"/></svg>',
    play: '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M8 5.5v13a.8.8 0 0 0 1.2.7l' +
      '10.4-6.5a.8.8 0 0 0 0-1.4L9.2 4.8A.8.8 0 0 0 8 5.5z"/></svg>',
    pause: '<svg viewBox="0 0 24 24" aria-hidden="true"><rect x="6" y="5" width="4" ' +
      'height="14" rx="1"/><rect x="14" y="5" width="4" height="14" rx="1"/></svg>',
    again: '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M12 5a7 7 0 1 1-6.6 4.7l1.9' +
      '.6A5 5 0 1 0 12 7v3L7.5 6 12 2v3z"/></svg>',
    save: '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M12 3l5 5h-3.5v6h-3V8H7l5-5z' +
      'M5 17h14v3H5z"/></svg>',
    check: '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M9.5 16.2L5.3 12l-1.4 1.4 ' +
      '5.6 5.6L20.1 8.4 18.7 7z"/></svg>',
    warn: '<svg viewBox="0 0 24 24" aria-hidden="true"><path fill-rule="evenodd" ' +
      'd="M12 2L1 21h22L12 2zm1 15h-2' +
      'v2h2v-2zm0-7h-2v5h2v-5z"/></svg>',
  };

  function h(tag, attrs, children) {
    const el = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === 'text') el.textContent = attrs[k];
      else if (k === 'html') el.innerHTML = attrs[k];
      else el.setAttribute(k, attrs[k]);
    });
    (children || []).forEach(function (c) { el.appendChild(c); });
    return el;
  }

  function button(cls, icon, label) {
    return h('button', { type: 'button', class: 'pipe-btn ' + cls },
      [h('span', { class: 'pipe-icon', html: ICONS[icon] }), h('span', { text: label })]);
  }

  function clock(seconds) {
    const s = Math.max(0, Math.floor(seconds));
    return String(Math.floor(s / 60)).padStart(2, '0') + ':' + String(s % 60).padStart(2, '0');
  }

  function spoken(seconds) {
    const s = Math.round(seconds);
    if (s < 60) return s + (s === 1 ? ' second' : ' seconds');
    const m = Math.floor(s / 60);
    return m + (m === 1 ? ' minute' : ' minutes') + (s % 60 ? ' ' + (s % 60) + ' seconds' : '');
  }

  function describeMediaError(err, audioOnly) {
    const device = audioOnly ? 'microphone' : 'camera and microphone';
    const name = err && err.name;
    if (name === 'NotAllowedError' || name === 'SecurityError' ||
      name === 'PermissionDeniedError') {
      return { title: (audioOnly ? 'Microphone' : 'Camera') + ' access was refused',
        text: 'Allow this page to use your ' + device + ' (look for the icon in the address ' +
          'bar or in your browser\u2019s site settings), then try again.' };
    }
    if (name === 'NotFoundError' || name === 'DevicesNotFoundError' ||
      name === 'OverconstrainedError') {
      return { title: audioOnly ? 'No microphone found' : 'No camera found',
        text: 'Connect a ' + (audioOnly ? 'microphone' : 'camera') + ' and check that it is ' +
          'switched on, then try again.' };
    }
    if (name === 'NotReadableError' || name === 'TrackStartError' || name === 'AbortError') {
      return { title: 'Your ' + (audioOnly ? 'microphone' : 'camera') + ' is busy',
        text: 'Another application or tab may be using it. Close it, then try again.' };
    }
    return { title: 'The ' + device + ' could not be started',
      text: (err && err.message ? err.message + '. ' : '') + 'Reload the page and try again.' };
  }

  /** Every element of one recorder, unwired: pipe.js adds the behaviour. */
  function buildView(ao, width, height) {
    const ui = {};
    ui.video = h('video', { class: 'pipe-video', playsinline: '', 'aria-label': 'Preview' });
    ui.video.muted = true;
    ui.meter = h('div', { class: 'pipe-meter', 'aria-hidden': 'true' }, [
      h('span', { class: 'pipe-meter-icon', html: ICONS.mic }),
      h('span', { class: 'pipe-bars' }, [0, 1, 2, 3, 4, 5, 6].map(() => h('i')))]);
    ui.start = button('pipe-start-btn', ao ? 'mic' : 'camera',
      ao ? 'Record audio' : 'Record video');
    ui.intro = h('div', { class: 'pipe-panel pipe-intro' }, [ui.start, h('p', {
      class: 'pipe-hint',
      text: 'Your browser will ask to use your ' + (ao ? 'microphone.' : 'camera and microphone.'),
    })]);
    ui.errorTitle = h('strong', { class: 'pipe-error-title' });
    ui.errorText = h('p', { class: 'pipe-error-text' });
    ui.retry = button('pipe-retry', 'again', 'Try again');
    ui.error = h('div', { class: 'pipe-panel pipe-error', role: 'alert', hidden: '' }, [
      h('span', { class: 'pipe-error-icon', html: ICONS.warn }), ui.errorTitle, ui.errorText,
      ui.retry]);
    ui.done = h('div', { class: 'pipe-panel pipe-done', hidden: '' }, [
      h('span', { class: 'pipe-done-icon', html: ICONS.check }),
      h('strong', { text: 'Recording saved' }),
      h('p', { class: 'pipe-hint', text: 'Thank you. You can close this page.' })]);
    ui.rec = h('div', { class: 'pipe-rec', hidden: '' }, [h('span', { class: 'pipe-dot' }),
      h('span', { text: 'REC' })]);
    ui.timer = h('div', { class: 'pipe-timer', role: 'timer', 'aria-label': 'Recording time' });
    ui.stage = h('div', { class: 'pipe-stage' }, [ui.video, ui.meter, ui.rec, ui.timer,
      ui.intro, ui.error, ui.done]);

    ui.bar = h('span', { class: 'pipe-bar' });
    ui.progress = h('div', { class: 'pipe-progress', role: 'progressbar',
      'aria-valuemin': '0', 'aria-valuemax': '100', 'aria-valuenow': '0',
      'aria-label': 'Upload progress' }, [ui.bar]);
    ui.progressText = h('span', { class: 'pipe-progress-text' });
    ui.upload = h('div', { class: 'pipe-upload', hidden: '' }, [ui.progress, ui.progressText]);

    ui.record = button('pipe-record', 'record', 'Record');
    ui.stop = button('pipe-stop', 'stop', 'Stop');
    ui.play = button('pipe-play', 'play', 'Play');
    ui.pause = button('pipe-pause', 'pause', 'Pause');
    ui.again = button('pipe-again', 'again', 'Record again');
    ui.save = button('pipe-save pipe-primary', 'save', 'Save');
    ui.controls = h('div', { class: 'pipe-controls', role: 'toolbar',
      'aria-label': 'Recorder controls' }, [ui.record, ui.stop, ui.play, ui.pause, ui.again,
      ui.save]);
    ui.status = h('div', { class: 'pipe-sr', role: 'status', 'aria-live': 'polite' });
    ui.root = h('div', { class: 'pipe-recorder' + (ao ? ' pipe-audio-only' : ''),
      role: 'region', 'aria-label': ao ? 'Audio recorder' : 'Video recorder',
      'data-state': 'idle' }, [ui.stage, ui.upload, ui.controls, ui.status]);
    ui.root.style.width = width + 'px';
    ui.root.style.height = Math.max(220, height) + 'px';

    return ui;
  }

  return { ICONS, h, clock, spoken, describeMediaError, buildView };
})();
