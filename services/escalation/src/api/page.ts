/**
 * The people's page: plain HTML and a little JavaScript, no build step. It asks for the person's bearer token (or
 * takes it from the URL fragment `#token=...`, which never reaches the server), lists the escalations of their
 * tenants with what a decision needs (task, proposed action and args, the model's reasoning and confidence, the rule
 * that escalated, the cited evidence, the task's budget and open breakers, the expiry), and approves or denies with a
 * comment; an escalation raised by a halt offers an admin to resume the task (granting more tokens, USD or steps) or
 * cancel it instead. It stays current through
 * the server-sent events of /events (read with fetch, so the token travels in a header, never in a URL).
 */
export const peoplePage = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Warden escalations</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
  body { font-family: system-ui, sans-serif; margin: 2rem; max-width: 70rem; color: #1b1b1b; }
  h1 { font-size: 1.4rem; }
  .esc { border: 1px solid #ccc; border-radius: 6px; padding: 1rem; margin: 1rem 0; }
  .esc[data-status="pending"] { border-color: #c77700; }
  .status { font-weight: bold; text-transform: uppercase; }
  pre { background: #f4f4f4; padding: .5rem; overflow-x: auto; }
  dt { font-weight: bold; margin-top: .4rem; }
  textarea { width: 100%; min-height: 3rem; }
  button { margin: .5rem .5rem 0 0; padding: .4rem 1rem; }
  label { margin-right: 1rem; }
  #live { font-size: .85rem; color: #555; }
</style>
</head>
<body>
<h1>Warden: escalations waiting for a person</h1>
<form id="login"><label>Bearer token <input id="token" type="password" autocomplete="off" size="40"></label>
<button type="submit">Sign in</button></form>
<p id="live">not connected</p>
<p id="error" role="alert"></p>
<div id="list"></div>
<script>
(function () {
  var token = '';
  var m = /token=([^&]+)/.exec(location.hash);
  if (m) { token = decodeURIComponent(m[1]); history.replaceState(null, '', location.pathname); }
  var list = document.getElementById('list');
  var live = document.getElementById('live');
  var errorBox = document.getElementById('error');
  function api(method, path, body) {
    return fetch(path, {
      method: method,
      headers: Object.assign({ authorization: 'Bearer ' + token }, body ? { 'content-type': 'application/json' } : {}),
      body: body ? JSON.stringify(body) : undefined,
    }).then(function (res) {
      return res.json().then(function (json) { return { status: res.status, body: json }; });
    });
  }
  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function field(dl, name, value, pre) {
    dl.appendChild(el('dt', {}, name));
    var dd = el('dd');
    dd.appendChild(pre ? el('pre', {}, value) : document.createTextNode(value));
    dl.appendChild(dd);
  }
  // A pending escalation whose task's budget is not recorded yet is read again, a second apart, for up to 30 s
  // (the planner writes it behind its state: a second or so, longer when MongoDB is busy).
  var budgetRetries = 0;
  var awaitingBudget = false;
  // What a person typed or entered survives a re-render (a refresh on a live update or a budget read).
  function typed() {
    var kept = {};
    list.querySelectorAll('section.esc textarea, section.esc input').forEach(function (f) {
      var box = f.closest('section.esc');
      if (f.value !== '') kept[box.getAttribute('data-escalation') + ' ' + (f.getAttribute('data-grant') || 'comment')] = f.value;
    });
    return kept;
  }
  function render(escs) {
    var kept = typed();
    list.textContent = '';
    awaitingBudget = false;
    if (escs.length === 0) list.appendChild(el('p', {}, 'Nothing to decide.'));
    escs.forEach(function (x) {
      var r = x.requested;
      var box = el('section', { class: 'esc', 'data-status': x.status, 'data-escalation': x.escalationId });
      box.appendChild(el('h2', {}, 'Task ' + x.taskId));
      box.appendChild(el('p', { class: 'status' }, x.status));
      var dl = el('dl');
      field(dl, 'Why a person is asked', r.reasonCode + ': ' + r.reason);
      if (r.verdict && r.verdict.ruleFired) field(dl, 'Rule that escalated', r.verdict.ruleFired + ' (policy ' + r.policyVersion + ')');
      if (r.action) field(dl, 'Proposed action: ' + r.action.tool, JSON.stringify(r.action.args, null, 2), true);
      if (r.action && r.action.impact) field(dl, 'Estimated impact', JSON.stringify(r.action.impact));
      if (r.answer) field(dl, 'Proposed answer', r.answer.answer, true);
      if (r.proposal) {
        field(dl, "Model's confidence", String(r.proposal.confidence.value) + ' (' + r.proposal.confidence.source + ')');
        field(dl, "Model's reasoning", r.proposal.reasoning, true);
        r.proposal.claims.forEach(function (c) {
          field(dl, 'Claim', c.text + ' [evidence: ' + c.evidence.map(function (e) { return e.kind + ' ' + e.ref; }).join(', ') + ']');
        });
      }
      if (x.halt) field(dl, 'Task halted', x.halt.reasonCode + ' (event ' + x.halt.eventId + ')');
      if (x.task && x.task.budget) {
        var b = x.task.budget;
        var num = function (v) { return String(Math.round(v * 1e6) / 1e6); };
        var fig = function (f, unit) { return num(f.used) + unit + ' spent of ' + num(f.limit) + unit + ', ' + num(f.remaining) + unit + ' left'; };
        field(dl, 'Budget', 'tokens: ' + fig(b.tokens, '') + '; cost: ' + fig(b.costUsd, ' USD') + '; steps: ' + fig(b.steps, '') + '; failures in a row: ' + b.failures.consecutive + ' of ' + b.failures.limit + ' (task ' + b.status + ')');
      }
      if (x.task && !x.task.budget && x.status === 'pending') {
        field(dl, 'Budget', 'not recorded yet (the planner writes it shortly; this page reads it again)');
        awaitingBudget = true;
      }
      if (x.task) {
        var open = x.task.breakers.openTools.map(function (t) { return t.tool + ' (since ' + t.since + ')'; });
        if (x.task.breakers.task) open.unshift('the task breaker');
        field(dl, 'Open breakers', open.length ? open.join(', ') : 'none');
      }
      field(dl, 'Expires', x.expiresAt);
      if (x.decision) field(dl, 'Decision', x.decision.outcome + (x.decision.by ? ' by ' + x.decision.by + ' (' + x.decision.role + ')' : '') + ' at ' + x.decision.at + (x.decision.comment ? ': ' + x.decision.comment : ''));
      box.appendChild(dl);
      if (x.status === 'pending') {
        var comment = el('textarea', { 'aria-label': 'comment', placeholder: 'why (recorded with the decision)' });
        box.appendChild(comment);
        var grants = {};
        if (x.halt) {
          [['tokens', 'Extra tokens'], ['costUsd', 'Extra USD'], ['steps', 'Extra steps']].forEach(function (g) {
            var label = el('label', {}, g[1] + ' ');
            grants[g[0]] = el('input', { type: 'number', min: '0', step: 'any', 'data-grant': g[0], size: '8' });
            label.appendChild(grants[g[0]]);
            box.appendChild(label);
          });
        }
        var labels = { approve: 'Approve', deny: 'Deny', resume: 'Resume task (admin)', cancel: 'Cancel task (admin)' };
        (x.halt ? ['resume', 'cancel'] : ['approve', 'deny']).forEach(function (kind) {
          var b = el('button', { type: 'button', 'data-action': kind }, labels[kind]);
          b.addEventListener('click', function () {
            var body = { comment: comment.value || undefined };
            if (kind === 'resume') {
              var grant = {};
              Object.keys(grants).forEach(function (k) { if (grants[k].value !== '') grant[k] = Number(grants[k].value); });
              if (Object.keys(grant).length) body.grant = grant;
            }
            if (!x.halt && (r.action || r.answer)) { body.argsHash = (r.action || r.answer).argsHash; body.policyVersion = r.policyVersion; }
            api('POST', '/tasks/' + encodeURIComponent(x.taskId) + '/escalations/' + encodeURIComponent(x.escalationId) + '/' + kind, body)
              .then(function (res) { errorBox.textContent = res.status === 200 ? '' : res.body.message; refresh(); });
          });
          box.appendChild(b);
        });
      }
      list.appendChild(box);
    });
    list.querySelectorAll('section.esc textarea, section.esc input').forEach(function (f) {
      var key = f.closest('section.esc').getAttribute('data-escalation') + ' ' + (f.getAttribute('data-grant') || 'comment');
      if (kept[key] !== undefined) f.value = kept[key];
    });
    if (!awaitingBudget) budgetRetries = 0;
    else if (budgetRetries < 30) {
      budgetRetries++;
      setTimeout(refresh, 1000);
    }
  }
  function refresh() {
    return api('GET', '/escalations').then(function (res) {
      if (res.status !== 200) { errorBox.textContent = res.body.message; return; }
      render(res.body.escalations);
    });
  }
  function listen() {
    fetch('/events', { headers: { authorization: 'Bearer ' + token } }).then(function (res) {
      if (res.status !== 200 || !res.body) { live.textContent = 'live updates unavailable'; return; }
      live.textContent = 'live';
      var reader = res.body.getReader();
      var decoder = new TextDecoder();
      var buffer = '';
      function pump() {
        return reader.read().then(function (chunk) {
          if (chunk.done) { live.textContent = 'reconnecting'; setTimeout(listen, 1000); return; }
          buffer += decoder.decode(chunk.value, { stream: true });
          var parts = buffer.split('\\n\\n');
          buffer = parts.pop();
          if (parts.some(function (p) { return /^event: escalation/m.test(p); })) refresh();
          return pump();
        });
      }
      return pump();
    }).catch(function () { live.textContent = 'reconnecting'; setTimeout(listen, 1000); });
  }
  function start() { refresh().then(listen); }
  document.getElementById('login').addEventListener('submit', function (e) {
    e.preventDefault();
    token = document.getElementById('token').value.trim();
    start();
  });
  if (token) start();
})();
</script>
</body>
</html>
`;
