import type { Account } from '../db/schema.js';
import { html, raw } from './html.js';
import type { Html, Part } from './html.js';

export type Section = 'recordings' | 'environments' | 'webhooks' | 'storage' | 'account';

export interface Notice {
  tone: 'success' | 'error' | 'info';
  text: string;
}

const NAV: [Section, string][] = [
  ['recordings', 'Recordings'], ['environments', 'Environments'], ['webhooks', 'Webhooks'],
  ['storage', 'Storage'], ['account', 'Account'],
];

const LOGO = raw('<svg viewBox="0 0 32 32" aria-hidden="true" class="logo"><rect width="32" ' +
  'height="32" rx="8"/><circle cx="16" cy="16" r="7" fill="none" stroke="#fff" ' +
  'stroke-width="2.5"/><circle cx="16" cy="16" r="3" fill="#fff"/></svg>');

export function document(title: string, body: Html, bodyClass = ''): Html {
  return html`<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · standpipe</title>
<link rel="stylesheet" href="/dashboard/assets/dashboard.css">
<script src="/dashboard/assets/dashboard.js" defer></script>
</head><body class="${bodyClass}">${body}</body></html>`;
}

export function notice(n: Notice | null | undefined): Html {
  if (n === null || n === undefined) return html``;
  const role = n.tone === 'error' ? 'alert' : 'status';
  return html`<div class="notice notice-${n.tone}" role="${role}">${n.text}</div>`;
}

export interface PageView {
  title: string;
  active: Section;
  body: Html;
  subtitle?: Part;
  actions?: Html;
  notice?: Notice | null;
}

/** Every signed-in page: the top bar with the sections, then the page's heading and body. */
export function layout(account: Account, csrf: string, view: PageView): Html {
  const nav = NAV.map(([key, label]) => html`<a href="/dashboard/${key}"
    ${key === view.active ? raw('aria-current="page"') : ''}>${label}</a>`);
  return document(view.title, html`
<a class="skip" href="#main">Skip to content</a>
<header class="topbar"><div class="topbar-inner">
  <a class="brand" href="/dashboard/recordings">${LOGO}<span>standpipe</span></a>
  <nav aria-label="Sections">${nav}</nav>
  <div class="who"><span class="who-name">${account.name}</span>
    <form method="post" action="/dashboard/logout">
      <input type="hidden" name="_csrf" value="${csrf}">
      <button class="link-button" type="submit">Sign out</button></form></div>
</div></header>
<main id="main" class="container">
  <div class="page-head"><div><h1>${view.title}</h1>
    ${view.subtitle === undefined ? '' : html`<p class="subtitle">${view.subtitle}</p>`}</div>
    ${view.actions ?? ''}</div>
  ${notice(view.notice)}
  ${view.body}
</main>`);
}

/** A hidden CSRF field for a form that changes something. */
export function csrfField(csrf: string): Html {
  return html`<input type="hidden" name="_csrf" value="${csrf}">`;
}

/** A one-button form that posts to `action`, optionally asking first. */
export function postButton(csrf: string, action: string, label: string,
  options: { tone?: 'danger' | 'primary' | 'plain'; confirm?: string; small?: boolean } = {}) {
  const cls = `btn btn-${options.tone ?? 'plain'}${options.small === true ? ' btn-sm' : ''}`;
  return html`<form method="post" action="${action}" class="inline"
    ${options.confirm === undefined ? '' : html`data-confirm="${options.confirm}"`}>
    ${csrfField(csrf)}<button class="${cls}" type="submit">${label}</button></form>`;
}

export function emptyState(title: string, text: Part, action?: Html): Html {
  return html`<div class="empty"><div class="empty-icon" aria-hidden="true">${LOGO}</div>
    <h2>${title}</h2><p>${text}</p>${action ?? ''}</div>`;
}
