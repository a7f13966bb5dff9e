"use strict";
// The dashboard's page (docs/dashboard.md): #/ lists every stack, #/stacks/NAME
// draws one, from the JSON of internal/dashboard/api.go, and both re-read what
// they show on the server-sent events of /api/watch.
//
// Every string from the API comes from the cluster: it reaches the DOM only
// through html`...`, which escapes each value it interpolates.
(() => {
  class Raw { constructor(s) { this.s = s; } }
  const ESC = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
  const esc = (v) => String(v).replace(/[&<>"']/g, (c) => ESC[c]);
  const part = (v) => v instanceof Raw ? v.s : Array.isArray(v) ? v.map(part).join("") :
    v == null || v === false ? "" : esc(v);
  const html = (strs, ...vals) => new Raw(strs.reduce((out, s, i) => out + part(vals[i - 1]) + s));
  // cat joins markup; put writes it into an element. Markup is never joined with
  // "+", which would turn it into a plain string (and have it escaped again).
  const cat = (...xs) => new Raw(xs.map(part).join(""));
  const put = (el, v) => { el.innerHTML = part(v); };

  const $ = (sel, root = document) => root.querySelector(sel);
  const main = $("#main");
  const body = document.body;

  // What is on screen and what the user chose; kept across re-draws.
  const S = {
    page: "", stack: "", seq: 0, rendered: 0, timers: {}, busy: {}, again: {},
    // why the API server does not answer, as the stream last said ("" while it does)
    clusterError: "",
    // the stacks page: the list read, its rows' search text, keys and names as drawn, the filter, the scroll to restore
    list: null, hay: [], keys: null, names: null, opts: "", q: "", health: "", listY: 0,
    // the stack page: the view read and the error reading it, the selected node, the diff picked and read
    view: null, viewError: null, selected: "", diff: { from: "", to: "", key: "", text: "", error: "" },
  };
  // Health of a stack (api.go StackRow.Health), in the server's failing-first order.
  const HEALTHS = ["Failed", "Progressing", "Unknown", "Deleting", "Suspended", "Ready"];

  // tone groups the words the API uses for health and phase into the page's colors.
  const TONES = {
    ok: ["Ready", "Current", "Running", "Succeeded", "Bound", "True"],
    warn: ["Progressing", "InProgress", "Pending", "Waiting", "Deleting", "Terminating"],
    bad: ["Failed", "Lost", "NotFound", "Stalled", "Warning", "False"],
    off: ["Suspended"],
  };
  const tone = (w) => Object.keys(TONES).find((t) => TONES[t].includes(w)) || "none";
  const badge = (w, t) => w ? html`<span class="badge t-${t || tone(w)}">${w}</span>` : "";
  // condTone: Ready is good when True; Reconciling and Stalled are news when True.
  const condTone = (c) => c.status !== "True" ? (c.type === "Ready" ? "bad" : "none") :
    { Ready: "ok", Reconciling: "warn", Stalled: "bad" }[c.type] || "none";

  // ---- time

  function ago(t) {
    const ms = Date.now() - Date.parse(t);
    if (!t || isNaN(ms) || Date.parse(t) <= 0) return "—";
    const s = Math.max(0, Math.floor(ms / 1000));
    if (s < 120) return s + "s";
    const m = Math.floor(s / 60);
    if (m < 10) return m + "m" + (s % 60) + "s";
    if (m < 120) return m + "m";
    const h = Math.floor(m / 60);
    if (h < 48) return h + "h";
    return Math.floor(h / 24) + "d";
  }
  const when = (t) => html`<time datetime="${t || ""}" title="${t || ""}">${ago(t)}</time>`;
  setInterval(() => {
    for (const el of main.querySelectorAll("time[datetime]")) el.textContent = ago(el.dateTime);
  }, 15000);

  // ---- reading the API

  class HttpError extends Error {
    constructor(status, msg) { super(msg); this.status = status; }
  }
  async function getJSON(url) {
    let r;
    try {
      r = await fetch(url, { headers: { Accept: "application/json" }, cache: "no-store" });
    } catch (e) {
      throw new HttpError(0, `Cannot reach the dashboard at ${location.host} (${e.message}): ` +
        "is `kubectl appstack dashboard` still running?");
    }
    let data = null;
    try { data = await r.json(); } catch (e) { /* an error page without JSON */ }
    if (!r.ok) throw new HttpError(r.status, (data && data.error) || `${url}: ${r.status} ${r.statusText}`);
    return data;
  }

  // soon runs fn ms after the first call since it last ran: events that come
  // faster than that are taken together, and a steady stream still refreshes.
  function soon(key, ms, fn) {
    if (S.timers[key]) return;
    S.timers[key] = setTimeout(() => { S.timers[key] = 0; fn(); }, ms);
  }
  // once runs the async fn one at a time per key; a call while it runs makes one more run after.
  async function once(key, fn) {
    if (S.busy[key]) { S.again[key] = true; return; }
    S.busy[key] = true;
    try { await fn(); } finally {
      S.busy[key] = false;
      if (S.again[key]) { S.again[key] = false; once(key, fn); }
    }
  }

  function drawn(page, t0) {
    void main.offsetHeight; // lay out now, so the time below includes it
    const now = performance.now();
    body.dataset.page = page;
    body.dataset.drawMs = (now - t0).toFixed(1);
    if (!S.rendered) body.dataset.firstMs = now.toFixed(0);
    body.dataset.rendered = String(++S.rendered);
    performance.mark("appstack:rendered"); // the tests' and the bench's time to first render
  }

  // ---- header and live updates

  async function loadInfo() {
    let i;
    try { i = await getJSON("/api/info"); } catch (e) {
      put($("#whoami"), html`<span class="t-bad">${e.message}</span>`);
      return;
    }
    const who = i.user || "unknown user";
    const title = [`user: ${who}`, i.groups && i.groups.length ? `groups: ${i.groups.join(", ")}` : "",
      `context: ${i.context}`, `server: ${i.server}`, `kubectl-appstack ${i.version}`].filter(Boolean).join("\n");
    put($("#whoami"), html`<span title="${title}"><span class="who">${who}</span>
<span class="ctx">@ ${i.context || i.server}</span></span>`);
  }

  // setLive says whether the page follows the cluster: the stream's state, and
  // while the stream is open, whether the API server answers (S.clusterError).
  function setLive(state) {
    if (state === "live" && S.clusterError) state = "unreachable";
    const el = $("#live");
    el.dataset.state = state;
    el.textContent = { live: "Live", connecting: "Connecting…", reconnecting: "Reconnecting…",
      unreachable: "Cluster unreachable" }[state];
    el.title = { live: "Following the cluster: the page updates as it changes",
      connecting: "Connecting to the dashboard's stream of changes",
      reconnecting: "Lost the connection to the dashboard; retrying. What is shown may be out of date.",
      unreachable: `${S.clusterError} What is shown is as last read.` }[state];
  }

  function watch(delay) {
    setLive(delay ? "reconnecting" : "connecting");
    const es = new EventSource("/api/watch");
    let lost = Boolean(delay);
    es.onopen = () => {
      S.clusterError = ""; // a stream opened during an outage says so first
      setLive("live");
      if (lost) refresh(""); // events may have been missed while away
      lost = false;
    };
    es.onerror = () => {
      lost = true;
      if (es.readyState !== EventSource.CLOSED) { setLive("reconnecting"); return; }
      // The browser gives up on an answer that is not an event stream: retry, slower each time.
      const next = Math.min((delay || 1000) * 2, 30000);
      setTimeout(() => watch(next), next);
      setLive("reconnecting");
    };
    es.addEventListener("change", (ev) => {
      let d = {};
      try { d = JSON.parse(ev.data); } catch (e) { return; }
      refresh(d.stack || "");
    });
    // The API server stopped answering (error says why) or answers again (""):
    // said beside the dot, and what the page shows is read again (the stacks
    // page then says it under its notice).
    es.addEventListener("cluster", (ev) => {
      let d = {};
      try { d = JSON.parse(ev.data); } catch (e) { return; }
      S.clusterError = d.error || "";
      setLive("live");
      refresh("");
    });
  }

  // refresh re-reads what the page shows when stack changed ("" = anything).
  function refresh(stack) {
    if (S.page === "stacks") soon("stacks", 150, () => once("stacks", loadStacks));
    else if (S.page === "stack" && (!stack || stack === S.stack)) soon("stack", 100, () => once("stack", loadStack));
  }

  // ---- routing

  function route() {
    const m = /^#\/stacks\/([^/?]+)/.exec(location.hash);
    let name = "";
    try { name = m ? decodeURIComponent(m[1]) : ""; } catch (e) { name = ""; }
    S.seq++;
    if (S.page === "stacks") S.listY = window.scrollY; // back on the list, it opens where it was
    S.page = m ? "stack" : "stacks";
    if (name !== S.stack) {
      S.view = null;
      S.selected = "";
      S.diff = { from: "", to: "", key: "", text: "", error: "" };
    }
    S.stack = name;
    document.title = name ? `${name} · AppStacks` : "AppStacks";
    main.innerHTML = '<p class="loading">Loading…</p>';
    window.scrollTo(0, 0);
    if (S.page === "stacks") once("stacks", loadStacks); else once("stack", loadStack);
  }

  // ---- the stacks page

  async function loadStacks() {
    const seq = S.seq;
    let list;
    try { list = await getJSON("/api/stacks"); } catch (e) {
      // Keep the rows last read under the error: a dropped request does not empty the page.
      list = { stacks: (S.list && S.list.stacks) || [], error: e.message };
    }
    if (seq !== S.seq) return;
    S.list = list;
    drawStacks();
  }

  function stacksShell() {
    return html`<section id="stacks-page">
<h1>Stacks</h1>
<div id="notice"></div>
<form class="controls" role="search">
<label>Filter <input id="filter" type="search" placeholder="name or status" autocomplete="off" value="${S.q}"></label>
<label>Health <select id="health-filter"></select></label>
<output id="shown" aria-live="polite"></output>
</form>
<p id="counts"></p>
<table id="stacks">
<thead><tr><th scope="col">Name</th><th scope="col">Namespace</th><th scope="col">Ready</th>
<th scope="col">Status</th><th scope="col">Revision</th><th scope="col">Age</th></tr></thead>
<tbody></tbody>
</table>
</section>`;
  }

  function stackRow(r, hide) {
    const status = [r.reason, r.message].filter(Boolean).join(": ");
    return html`<tr data-stack="${r.name}" data-health="${r.health}"${new Raw(hide ? " hidden" : "")}>\
<th scope="row" title="${r.name}"><a href="#/stacks/${encodeURIComponent(r.name)}">${r.name}</a></th>\
<td data-label="Namespace">${r.namespace}</td><td data-label="Ready">${r.ready || "—"}</td>\
<td data-label="Status" class="status" title="${status}">${badge(r.health)} \
<span class="reason">${r.reason}</span> <span class="msg">${r.message}</span></td>\
<td data-label="Revision">${r.revision || "—"}</td><td data-label="Age">${when(r.created)}</td></tr>`;
  }

  const matches = (i) => (!S.health || S.list.stacks[i].health === S.health) && (!S.q || S.hay[i].includes(S.q));

  function drawStacks() {
    const t0 = performance.now();
    if (!$("#stacks-page")) {
      put(main, stacksShell());
      S.keys = null;
      S.opts = "";
    }
    // Go writes an empty list as null.
    const stacks = S.list.stacks = S.list.stacks || [];
    const { forbidden = "", error = "" } = S.list;
    put($("#notice"), forbidden ?
      html`<p id="forbidden" class="notice t-bad" role="alert"><strong>You may not list stacks.</strong> ${forbidden}</p>` :
      error ? html`<p id="error" class="notice t-bad" role="alert"><strong>Error:</strong> ${error}</p>` :
      !stacks.length ? html`<p class="notice">No AppStacks in this cluster.</p>` : "");
    $("#stacks").hidden = Boolean(forbidden) || !stacks.length;
    S.hay = stacks.map((r) => [r.name, r.namespace, r.health, r.reason, r.message].join(" ").toLowerCase());
    drawCounts(stacks);
    drawRows(stacks);
    if (S.listY) { window.scrollTo(0, S.listY); S.listY = 0; }
    drawn("stacks", t0);
  }

  // drawCounts writes the health filter's options and the counts, when they changed
  // (rewriting an open select would close it under the pointer).
  function drawCounts(stacks) {
    const count = {};
    for (const r of stacks) count[r.health] = (count[r.health] || 0) + 1;
    const opts = part(cat(html`<option value="">All (${stacks.length})</option>`,
      HEALTHS.concat(Object.keys(count).filter((h) => !HEALTHS.includes(h)))
        .map((h) => html`<option value="${h}">${h} (${count[h] || 0})</option>`)));
    if (opts === S.opts) return;
    S.opts = opts;
    const sel = $("#health-filter");
    sel.innerHTML = opts;
    sel.value = S.health;
    put($("#counts"), HEALTHS.filter((h) => count[h]).map((h) => html`<button type="button" class="badge t-${tone(h)}" \
data-pick="${h}" aria-pressed="${S.health === h}">${h} ${count[h]}</button> `));
  }

  // drawRows writes the rows in one go; when the same stacks come in the same
  // order, it rewrites only the rows that changed, so a stream of changes does
  // not rebuild 500 rows (nor lose the focus) each time.
  function drawRows(stacks) {
    const keys = stacks.map((r) => JSON.stringify(r));
    const names = stacks.map((r) => r.name);
    const tbody = $("#stacks tbody");
    let shown = 0;
    if (S.keys && String(S.names) === String(names)) {
      stacks.forEach((r, i) => {
        const m = matches(i);
        shown += m;
        if (keys[i] !== S.keys[i]) tbody.rows[i].outerHTML = part(stackRow(r, !m));
      });
    } else {
      put(tbody, stacks.map((r, i) => { const m = matches(i); shown += m; return stackRow(r, !m); }));
    }
    S.keys = keys;
    S.names = names;
    showCount(shown);
  }

  function showCount(shown) {
    const n = S.list.stacks.length;
    $("#shown").textContent = shown === n ? `${n} stack${n === 1 ? "" : "s"}` : `${shown} of ${n} shown`;
  }

  function applyFilter() {
    S.q = $("#filter").value.trim().toLowerCase();
    S.health = $("#health-filter").value;
    let shown = 0;
    const rows = $("#stacks tbody").rows;
    for (let i = 0; i < rows.length; i++) {
      const m = matches(i);
      shown += m;
      if (rows[i].hidden === m) rows[i].hidden = !m;
    }
    showCount(shown);
    for (const b of main.querySelectorAll("[data-pick]")) b.setAttribute("aria-pressed", b.dataset.pick === S.health);
    $("#health-filter").value = S.health;
  }

  // pick filters by one health, or by none when it was the one chosen.
  function pick(h) {
    $("#health-filter").value = S.health === h ? "" : h;
    applyFilter();
  }

  // ---- the stack page

  async function loadStack() {
    const seq = S.seq;
    let view = S.view;
    let err = null;
    try { view = await getJSON(`/api/stacks/${encodeURIComponent(S.stack)}`); } catch (e) {
      err = e;
      // Gone or refused: do not show the old picture as current. Unreachable (the
      // dashboard, or through it the API server: 503), keep it, marked as such.
      if (!stale(e)) view = null;
    }
    if (seq !== S.seq) return;
    S.view = view;
    S.viewError = err;
    drawStack();
  }

  // stale: the error leaves what was read last worth showing (the dashboard or
  // the API server could not be reached), unlike a stack gone or forbidden.
  const stale = (e) => e.status === 0 || e.status === 503;

  function drawStack() {
    const t0 = performance.now();
    const keep = { y: window.scrollY, gx: 0, gy: 0, focus: focusKey(document.activeElement) };
    const g = $("#graph");
    if (g) { keep.gx = g.scrollLeft; keep.gy = g.scrollTop; }
    const v = S.view;
    const e = S.viewError;
    const notice = e ? html`<p id="error" class="notice t-bad" role="alert"><strong>Error:</strong> ${e.message}\
${stale(e) && v ? " Showing what was last read." : ""}</p>` : "";
    if (!v) {
      put(main, html`<nav class="crumbs"><a href="#/">Stacks</a> / ${S.stack}</nav>${notice}`);
      drawn("stack", t0);
      return;
    }
    put(main, html`<nav class="crumbs"><a href="#/">Stacks</a> / ${v.name}</nav>${notice}${stackHead(v)}
${rollback(v.rollback)}<section id="graph-section" aria-labelledby="graph-h">
<h2 id="graph-h">Graph</h2><div id="graph"></div>${legend()}</section>${hidden(v.hidden)}
<section id="components" aria-labelledby="components-h"><h2 id="components-h">Components</h2>
<div class="cards">${componentCards(v)}</div></section>
${stackObjects(v)}<div class="cols">${conditions(v.conditions)}${actions(v.actions)}</div>
${revisions(v.revisions)}${events(v.events)}`);
    drawGraph(v);
    select(S.selected, false);
    const box = $("#graph");
    box.scrollLeft = keep.gx;
    box.scrollTop = keep.gy;
    window.scrollTo(0, keep.y);
    if (keep.focus) { const el = $(keep.focus); if (el) el.focus({ preventScroll: true }); }
    drawn("stack", t0);
    loadDiff(false);
  }

  // focusKey names the focused control so it can be focused again after a re-draw.
  function focusKey(el) {
    if (!el || el === body || !main.contains(el)) return "";
    if (el.id) return "#" + CSS.escape(el.id);
    for (const a of ["node", "card", "select", "copy"]) {
      if (el.dataset[a] !== undefined) return `[data-${a}="${CSS.escape(el.dataset[a])}"]`;
    }
    return "";
  }

  function stackHead(v) {
    return html`<section id="head" class="head t-${tone(v.health)}" data-health="${v.health}">
<h1>${v.name} ${badge(v.health)}</h1>
<p class="cause">${v.reason ? html`<strong>${v.reason}</strong> ` : ""}${v.message}</p>
<dl class="facts"><div><dt>Namespace</dt><dd>${v.namespace}</dd></div>
<div><dt>Ready</dt><dd>${v.ready || "—"}</dd></div>
<div><dt>Revision</dt><dd>${v.revision || "—"}</dd></div>
<div><dt>Age</dt><dd>${when(v.created)}</dd></div></dl></section>`;
  }

  function rollback(rb) {
    if (!rb) return "";
    return html`<section id="rollback" class="banner t-bad" role="status" aria-labelledby="rollback-h">
<h2 id="rollback-h">Rolled back: revision ${rb.revision} runs instead of ${rb.failedRevision}</h2>
<p>Revision ${rb.failedRevision} failed (<strong>${rb.reason}</strong>), so the operator rolled back to revision
${rb.revision} ${when(rb.time)} ago. It stays in force until the spec changes.</p>
${rb.message ? html`<p class="wrap">${rb.message}</p>` : ""}</section>`;
  }

  function legend() {
    return html`<p class="legend"><span><svg width="34" height="10" aria-hidden="true"><line x1="0" y1="5" x2="26" y2="5"
class="edge edge-dependsOn" marker-end="url(#arrow)"/></svg> A → B: B depends on A, A starts first</span>
<span><svg width="34" height="10" aria-hidden="true"><line x1="0" y1="5" x2="34" y2="5" class="edge edge-uses"/></svg>
volume or config used by a component</span></p>`;
  }

  // objects lists objects and pods, each with what a person looks for in its kind.
  function objects(list) {
    if (!list || !list.length) return "";
    return html`<ul class="objs">${list.map((o) => {
      const pod = o.pod;
      const attrs = pod ? html` data-waiting="${pod.waiting || ""}" data-restarts="${pod.restarts || 0}"` : "";
      return html`<li class="obj" data-kind="${o.kind}" data-name="${o.name}" data-uid="${o.uid}"${attrs}>\
<span class="okind">${o.kind}</span> <span class="oname">${o.name}</span> ${badge(o.health)}\
${detail(o)}${o.message ? html`<div class="omsg t-${pod && pod.waiting ? "bad" : tone(o.health)}">${o.message}</div>` : ""}</li>`;
    })}</ul>`;
  }

  function detail(o) {
    const bits = [];
    const add = (label, value, cls) => {
      if (value != null && value !== "" && !(Array.isArray(value) && !value.length)) {
        bits.push(html`<span class="${cls || ""}">${label ? `${label} ` : ""}\
<b>${Array.isArray(value) ? value.join(", ") : value}</b></span>`);
      }
    };
    const { pod: p, service: s, claim: c, ingress: i, autoscaler: a } = o;
    if (p) {
      add("ready", `${p.ready}/${p.total}`);
      add("restarts", p.restarts || 0, p.restarts ? "t-warn" : "");
      if (p.waiting) bits.push(html`<span class="badge t-bad">${p.waiting}</span>`);
      add("node", p.node);
    }
    if (s) {
      add("", s.type);
      add("IP", s.clusterIP);
      add("ports", s.ports);
      add("URL", s.url);
      add("external", s.external);
    }
    if (c) {
      add("", c.phase);
      add("capacity", c.capacity);
      add("class", c.storageClass);
      if (c.retained) bits.push(html`<span class="badge t-off" title="kept when the stack is deleted">retained</span>`);
    }
    if (i) { add("hosts", i.hosts); add("address", i.addresses); }
    if (a) {
      add("replicas", `${a.current} → ${a.desired}`);
      add("bounds", `${a.min}–${a.max}`);
      add("targets", a.targets);
    }
    return bits.length ? html`<div class="odetail">${bits}</div>` : "";
  }

  // related names the nodes joined to id by edges of type, as buttons that select them.
  function related(v, id, dir, type) {
    const edges = (v.graph && v.graph.edges) || [];
    const ids = edges.filter((e) => e.type === type && e[dir === "in" ? "to" : "from"] === id)
      .map((e) => e[dir === "in" ? "from" : "to"]);
    return ids.map((n, i) => html`${i ? ", " : ""}<button type="button" class="link" data-select="${n}">\
${n.replace(/^[a-z]+\//, "")}</button>`);
  }

  function componentCards(v) {
    const nodes = ((v.graph && v.graph.nodes) || []).filter((n) => n.type === "component");
    const comps = v.components || {};
    const extra = Object.keys(comps).filter((k) => !nodes.some((n) => n.name === k))
      .map((k) => ({ id: "component/" + k, type: "component", name: k, gone: true }));
    if (!nodes.length && !extra.length) return html`<p class="muted">No components.</p>`;
    return nodes.concat(extra).map((n) => {
      const c = comps[n.name] || {};
      const deps = related(v, n.id, "in", "dependsOn");
      const uses = related(v, n.id, "in", "uses");
      return html`<article class="card t-${tone(n.phase)}" data-card="${n.id}" tabindex="-1">
<h3><button type="button" class="link" data-select="${n.id}">${n.name}</button> ${badge(n.phase)}</h3>
<p class="kind">${[n.kind, n.replicas != null ? `${n.readyReplicas || 0}/${n.replicas} ready` : ""]
  .filter(Boolean).join(" · ")}</p>
${n.images && n.images.length ? html`<p class="images">${n.images.map((im) => html`<code>${im}</code> `)}</p>` : ""}
${n.phase && n.phase !== "Ready" && (n.reason || n.message) ?
  html`<p class="cause"><strong>${n.reason}</strong> ${n.message}</p>` : ""}
${deps.length ? html`<p class="rel">Depends on ${deps}</p>` : ""}${uses.length ? html`<p class="rel">Uses ${uses}</p>` : ""}
${objects(c.objects)}${c.pods && c.pods.length ? html`<h4>Pods</h4>${objects(c.pods)}` : ""}
${n.gone ? html`<p class="muted">Not in the stack's spec any more.</p>` : ""}\
${!c.objects && !c.pods ? html`<p class="muted">No objects read for this component.</p>` : ""}</article>`;
    });
  }

  // stackObjects lists the stack's own objects, each claim and config linked to
  // its node in the graph and to the components that use it.
  function stackObjects(v) {
    const list = v.stackObjects || [];
    if (!list.length) return "";
    const nodes = new Set(((v.graph && v.graph.nodes) || []).map((n) => n.id));
    const items = list.map((o) => {
      const id = o.kind === "PersistentVolumeClaim" ? "volume/" + o.name : o.kind === "ConfigMap" ? "config/" + o.name : "";
      const users = nodes.has(id) ? related(v, id, "out", "uses") : [];
      return html`<div class="so"${id && nodes.has(id) ? html` data-card="${id}" tabindex="-1"` : ""}>\
${objects([o])}${users.length ? html`<p class="rel">Used by ${users}</p>` : ""}</div>`;
    });
    return html`<section id="stack-objects" aria-labelledby="so-h"><h2 id="so-h">Stack objects</h2>
<div class="cards">${items}</div></section>`;
  }

  function conditions(list) {
    return html`<section id="conditions" aria-labelledby="cond-h"><h2 id="cond-h">Conditions</h2>${list && list.length ?
      html`<table class="grid"><thead><tr><th>Type</th><th>Status</th><th>Reason</th><th>Message</th><th>Since</th>
</tr></thead><tbody>${list.map((c) => html`<tr data-condition="${c.type}"><th scope="row">${c.type}</th>\
<td>${badge(c.status, condTone(c))}</td><td>${c.reason}</td><td class="wrap">${c.message}</td>\
<td>${when(c.lastTransitionTime)}</td></tr>`)}</tbody></table>` :
      html`<p class="muted">The operator has not reported on this stack yet.</p>`}</section>`;
  }

  function events(list) {
    return html`<section id="events" aria-labelledby="ev-h"><h2 id="ev-h">Recent events</h2>${list && list.length ?
      html`<table class="grid"><thead><tr><th>Type</th><th>Reason</th><th>Object</th><th>Message</th><th>Last</th>
</tr></thead><tbody>${list.map((e) => html`<tr data-type="${e.type}"><td>${badge(e.type)}</td>\
<td>${e.reason}</td><td>${e.object}</td><td class="wrap">${e.message}\
${e.count > 1 ? html` <span class="muted">×${e.count}</span>` : ""}</td><td>${when(e.last)}</td></tr>`)}\
</tbody></table>` : html`<p class="muted">No recent events.</p>`}</section>`;
  }

  function revisions(list) {
    list = list || [];
    const opts = (sel) => list.map((r) => html`<option value="${r.number}"${new Raw(String(r.number) === sel ?
      " selected" : "")}>${r.number}${r.current ? " (current)" : ""}</option>`);
    const d = S.diff;
    return html`<section id="revisions" aria-labelledby="rev-h"><h2 id="rev-h">Revisions</h2>${list.length ?
      html`<table class="grid"><thead><tr><th>#</th><th>Created</th><th>Components</th><th>Note</th></tr></thead>
<tbody>${list.map((r) => html`<tr data-revision="${r.number}"${new Raw(r.current ? ' class="current"' : "")}>\
<th scope="row">${r.number}${r.current ? html` <span class="badge t-ok">current</span>` : ""}</th>\
<td>${when(r.created)}</td><td class="wrap">${r.summary}</td><td class="wrap">${r.note}</td></tr>`)}\
</tbody></table>` : html`<p class="muted">No revisions recorded.</p>`}
${list.length > 1 ? html`<form id="diff-form" class="controls"><label>From <select id="diff-from">${opts(d.from)}
</select></label> <label>to <select id="diff-to">${opts(d.to)}</select></label>
</form>
<pre id="diff" class="diff" tabindex="0" aria-live="polite">${diffLines()}</pre>` : ""}</section>`;
  }

  function diffLines() {
    const d = S.diff;
    if (d.error) return html`<span class="t-bad">${d.error}</span>`;
    if (!d.key) return "";
    if (!d.text) return html`<span class="muted">Revisions ${d.from} and ${d.to} have the same spec.</span>`;
    return d.text.replace(/\n$/, "").split("\n").map((l) => {
      const c = l.startsWith("+++") || l.startsWith("---") ? "file" : l[0] === "+" ? "add" :
        l[0] === "-" ? "del" : l.startsWith("@@") ? "hunk" : "";
      return html`<span class="${c}">${l}</span>\n`;
    });
  }

  // loadDiff reads the diff chosen in the picker; by default the one before the
  // current revision against it. Revisions do not change, so a diff is read once.
  async function loadDiff(chosen) {
    const revs = (S.view && S.view.revisions) || [];
    if (revs.length < 2 || !$("#diff-from")) return;
    const d = S.diff;
    if (chosen) {
      d.from = $("#diff-from").value;
      d.to = $("#diff-to").value;
      d.picked = true;
    } else if (!d.picked) {
      const cur = Math.max(0, revs.findIndex((r) => r.current));
      const to = revs[cur];
      const from = revs.filter((r) => r.number < to.number).sort((a, b) => b.number - a.number)[0] ||
        revs.find((r) => r !== to);
      d.from = String(from.number);
      d.to = String(to.number);
      $("#diff-from").value = d.from;
      $("#diff-to").value = d.to;
    }
    const key = `${d.from}-${d.to}`;
    if (key === d.key || key === d.want) return;
    d.want = key;
    const seq = S.seq;
    const name = S.stack;
    let text = "";
    let error = "";
    try {
      const r = await getJSON(`/api/stacks/${encodeURIComponent(name)}/diff?from=${d.from}&to=${d.to}`);
      text = r.diff || "";
    } catch (e) { error = e.message; }
    if (seq !== S.seq || d.want !== key) return; // gone elsewhere, or another pick since
    Object.assign(d, { key, text, error, want: "" });
    const pre = $("#diff");
    if (pre) put(pre, html`${diffLines()}`);
  }

  function actions(list) {
    return html`<section id="actions" aria-labelledby="act-h"><h2 id="act-h">Commands</h2>${list && list.length ?
      html`<p class="muted">To act on this stack, run (the dashboard only reads):</p><ul class="actions">${list.map((a) =>
        html`<li data-action="${a.title}"><span class="atitle">${a.title}</span><code>${a.command}</code>\
<button type="button" data-copy="${a.title}">Copy</button></li>`)}</ul>` :
      html`<p class="muted">None: your identity may not change this stack.</p>`}</section>`;
  }

  function hidden(list) {
    if (!list || !list.length) return "";
    return html`<section id="hidden" aria-labelledby="hid-h"><h2 id="hid-h">Not shown here</h2>
<p>Your identity may not read these, so this page leaves them out:</p><ul>${list.map((l) => html`<li>${l}</li>`)}
</ul></section>`;
  }

  // ---- the graph

  const FONT = { name: "600 13px", small: "11px" };
  const ctx = document.createElement("canvas").getContext("2d");
  let family = "";
  function width(text, font) {
    family = family || getComputedStyle(body).fontFamily || "sans-serif";
    ctx.font = `${font} ${family}`;
    return ctx.measureText(text).width;
  }
  // fit cuts text to max pixels, with an ellipsis when cut.
  function fit(text, font, max) {
    if (width(text, font) <= max) return text;
    let lo = 0;
    let hi = text.length;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (width(text.slice(0, mid) + "…", font) <= max) lo = mid; else hi = mid - 1;
    }
    return text.slice(0, lo) + "…";
  }
  // wrap breaks text into at most n lines of max pixels, the last cut with an ellipsis.
  function wrap(text, font, max, n) {
    const words = text.split(/\s+/).filter(Boolean);
    const out = [];
    let line = "";
    while (words.length && out.length < n - 1) {
      const next = line ? line + " " + words[0] : words[0];
      if (width(next, font) <= max || !line) { line = next; words.shift(); } else { out.push(line); line = ""; }
    }
    const rest = [line].concat(words).filter(Boolean).join(" ");
    if (rest) out.push(fit(rest, font, max));
    return out.map((l) => fit(l, font, max));
  }

  function cause(n) {
    if (!n.phase || n.phase === "Ready" || n.type !== "component") return "";
    if (n.reason && n.message && !n.message.startsWith(n.reason)) return `${n.reason}: ${n.message}`;
    return n.message || n.reason || "";
  }

  // box decides a node's size and text lines.
  function box(n) {
    const w = n.type === "component" ? 230 : 190;
    const inner = w - 24;
    const phase = n.phase || "";
    const phaseW = phase ? width(phase, FONT.name) + 10 : 0;
    let sub = n.type;
    if (n.type === "component") {
      sub = [n.kind, n.replicas != null ? `${n.readyReplicas || 0}/${n.replicas} ready` : ""].filter(Boolean).join(" · ");
    } else if (n.type === "volume") {
      sub = ["volume", n.capacity || n.size, n.retain ? "retained" : ""].filter(Boolean).join(" · ");
    }
    const msg = cause(n) ? wrap(cause(n), FONT.small, inner, 2) : [];
    return {
      w, h: 46 + msg.length * 15 + (msg.length ? 4 : 0), phase, msg,
      name: fit(n.name, FONT.name, inner - phaseW), sub: fit(sub || "", FONT.small, inner),
    };
  }

  function curve(p) {
    const r = (x) => Math.round(x * 10) / 10;
    let d = `M${r(p[0].x)},${r(p[0].y)}`;
    for (let i = 1; i < p.length - 1; i++) {
      const end = i === p.length - 2 ? p[i + 1] : { x: (p[i].x + p[i + 1].x) / 2, y: (p[i].y + p[i + 1].y) / 2 };
      d += `Q${r(p[i].x)},${r(p[i].y)} ${r(end.x)},${r(end.y)}`;
    }
    if (p.length === 2) d += `L${r(p[1].x)},${r(p[1].y)}`;
    return d;
  }

  function nodeSVG(n, b, pos) {
    const full = [`${n.type} ${n.name}`, n.kind, n.phase, cause(n) || n.message].filter(Boolean).join("\n");
    const label = [`${n.type} ${n.name}`, n.kind, n.phase || "", cause(n)].filter(Boolean).join(", ");
    return html`<g class="node node-${n.type}" data-node="${n.id}" data-phase="${n.phase || ""}" \
transform="translate(${Math.round(pos.x - b.w / 2)},${Math.round(pos.y - b.h / 2)})" tabindex="0" \
role="button" aria-label="${label}"><title>${full}</title>\
<rect class="node-box" width="${b.w}" height="${b.h}" rx="7"/>\
<rect class="node-bar" width="5" height="${b.h - 2}" x="1" y="1" rx="3"/>\
<text class="node-name" x="13" y="20">${b.name}</text>\
${b.phase ? html`<text class="node-phase" x="${b.w - 10}" y="20" text-anchor="end">${b.phase}</text>` : ""}\
<text class="node-sub" x="13" y="37">${b.sub}</text>\
${b.msg.length ? html`<text class="node-message">${b.msg.map((l, i) =>
    html`<tspan x="13" y="${56 + i * 15}">${l}${i < b.msg.length - 1 ? " " : ""}</tspan>`)}</text>` : ""}</g>`;
  }

  // drawGraph lays the graph out with dagre (the options kubectl appstack graph
  // uses, docs/dashboard.md) and draws it as SVG into #graph.
  function drawGraph(v) {
    const el = $("#graph");
    const gr = v.graph || {};
    const nodes = gr.nodes || [];
    if (!nodes.length) { put(el, html`<p class="muted">Nothing to draw: the stack has no components.</p>`); return; }
    if (typeof dagre === "undefined") {
      put(el, html`<p class="t-bad">The graph's layout library (/assets/dagre.min.js) did not load.</p>`);
      return;
    }
    const g = new dagre.graphlib.Graph();
    g.setGraph({ rankdir: "TB", nodesep: 40, ranksep: 50, edgesep: 20, marginx: 16, marginy: 16 });
    g.setDefaultEdgeLabel(() => ({}));
    const boxes = new Map(nodes.map((n) => [n.id, box(n)]));
    for (const n of nodes) g.setNode(n.id, { width: boxes.get(n.id).w, height: boxes.get(n.id).h });
    const edges = (gr.edges || []).filter((e) => boxes.has(e.from) && boxes.has(e.to));
    for (const e of edges) g.setEdge(e.from, e.to);
    dagre.layout(g);
    const W = Math.ceil(g.graph().width);
    const H = Math.ceil(g.graph().height);
    put(el, html`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" \
role="group" aria-label="Graph of stack ${v.name}"><defs><marker id="arrow" viewBox="0 0 10 10" refX="9" \
refY="5" markerWidth="7" markerHeight="7" orient="auto"><path class="arrowhead" d="M0,0L10,5L0,10z"/></marker></defs>\
<g class="edges">${edges.map((e) => html`<path class="edge edge-${e.type}" data-from="${e.from}" data-to="${e.to}" \
d="${curve(g.edge(e.from, e.to).points)}"${new Raw(e.type === "dependsOn" ? ' marker-end="url(#arrow)"' : "")}/>`)}</g>\
<g class="nodes">${nodes.map((n) => nodeSVG(n, boxes.get(n.id), g.node(n.id)))}</g></svg>`);
    // Shrunk to the width of the screen, but not below 70%: a wider graph scrolls.
    $("svg", el).style.minWidth = Math.round(W * 0.7) + "px";
  }

  // select marks the node id (and its card) selected; with go, scrolls to the card.
  function select(id, go) {
    S.selected = id;
    for (const el of main.querySelectorAll(".selected")) el.classList.remove("selected");
    if (!id) return;
    const q = `[data-node="${CSS.escape(id)}"], [data-card="${CSS.escape(id)}"]`;
    for (const el of main.querySelectorAll(q)) el.classList.add("selected");
    const card = $(`[data-card="${CSS.escape(id)}"]`);
    if (go && card) {
      const smooth = !matchMedia("(prefers-reduced-motion: reduce)").matches;
      card.scrollIntoView({ behavior: smooth ? "smooth" : "auto", block: "nearest" });
      card.focus({ preventScroll: true });
    }
  }

  async function copy(btn) {
    const code = btn.parentElement.querySelector("code");
    const text = code.textContent;
    let ok = false;
    try { await navigator.clipboard.writeText(text); ok = true; } catch (e) {
      // Without the clipboard API (an older browser, a page not on loopback): select it for Ctrl+C.
      const range = document.createRange();
      range.selectNodeContents(code);
      getSelection().removeAllRanges();
      getSelection().addRange(range);
      ok = document.execCommand && document.execCommand("copy");
    }
    btn.textContent = ok ? "Copied" : "Press Ctrl+C";
    setTimeout(() => { btn.textContent = "Copy"; }, 1500);
  }

  // ---- events, delegated from main so re-draws need no re-binding

  main.addEventListener("click", (ev) => {
    const t = ev.target;
    const node = t.closest("g.node");
    if (node) { select(node.dataset.node, true); return; }
    const sel = t.closest("[data-select]");
    if (sel) { select(sel.dataset.select, true); return; }
    const btn = t.closest("button[data-copy]");
    if (btn) copy(btn);
    const p = t.closest("button[data-pick]");
    if (p) pick(p.dataset.pick);
  });
  main.addEventListener("keydown", (ev) => {
    const node = ev.target.closest && ev.target.closest("g.node");
    if (node && (ev.key === "Enter" || ev.key === " ")) { ev.preventDefault(); select(node.dataset.node, true); }
  });
  let pending = 0;
  main.addEventListener("input", (ev) => {
    if (ev.target.id !== "filter") return;
    cancelAnimationFrame(pending);
    pending = requestAnimationFrame(applyFilter);
  });
  main.addEventListener("change", (ev) => {
    if (ev.target.id === "health-filter") applyFilter();
    if (ev.target.id === "diff-from" || ev.target.id === "diff-to") loadDiff(true);
  });
  // Nothing here goes anywhere: the filter filters as one types, the diff shows as one picks.
  main.addEventListener("submit", (ev) => ev.preventDefault());

  window.addEventListener("hashchange", route);
  loadInfo();
  watch(0);
  route();
})();
