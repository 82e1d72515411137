import assert from 'node:assert/strict';
import { test } from 'node:test';
import { escapeHtml, html } from '../src/html.ts';

test('html`` escapes everything that is not already safe', () => {
  const name = `<script>alert("x")</script>&'`;
  assert.equal(escapeHtml(name), '&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#39;');
  assert.equal(html`<p title="${name}">${name}</p>`.value, `<p title="${escapeHtml(name)}">${escapeHtml(name)}</p>`);
  assert.equal(html`<ul>${['<a>', html`<li>ok</li>`]}</ul>`.value, '<ul>&lt;a&gt;<li>ok</li></ul>');
  assert.equal(html`${null}${undefined}${false}${0}`.value, '0');
});
