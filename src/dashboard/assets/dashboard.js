/* standpipe dashboard: small enhancements; every page works without them. */
(function () {
  'use strict';

  function copy(button) {
    const source = document.getElementById(button.getAttribute('data-copy'));
    if (!source) return;
    const text = source.textContent;
    const done = () => {
      const label = button.textContent;
      button.textContent = 'Copied';
      button.classList.add('copied');
      setTimeout(() => {
        button.textContent = label;
        button.classList.remove('copied');
      }, 1800);
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, () => select(source));
    } else {
      select(source);
      if (document.execCommand('copy')) done();
    }
  }

  function select(node) {
    const range = document.createRange();
    range.selectNodeContents(node);
    const selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  }

  document.addEventListener('click', (event) => {
    const button = event.target.closest('[data-copy]');
    if (button) copy(button);
  });

  document.addEventListener('submit', (event) => {
    const message = event.target.getAttribute('data-confirm');
    if (message && !window.confirm(message)) event.preventDefault();
  });

  document.addEventListener('change', (event) => {
    if (event.target.matches('select[data-autosubmit]')) event.target.form.submit();
  });

  const refresh = document.querySelector('[data-refresh]');
  if (refresh) {
    const seconds = Number(refresh.getAttribute('data-refresh')) || 5;
    setTimeout(() => window.location.reload(), seconds * 1000);
  }
})();
