// The driver's web app. Plain DOM and WebCrypto; the crypto is in wl.mjs
// (tested from Go under Node.js). Everything the phone keeps — its key,
// the gateway's public keys, the manifests it scanned, and the handovers
// not yet sent — lives in IndexedDB, so that scanning, the ticket check,
// signing and queueing work with no signal.
import * as wl from './wl.mjs';

const $ = (id) => document.getElementById(id);
const API_TOKEN = 'wl.token';
const BATCH = 100;

// ---- storage ---------------------------------------------------------------

let dbp;
function db() {
  dbp ??= new Promise((resolve, reject) => {
    const req = indexedDB.open('wasteledger-driver', 1);
    req.onupgradeneeded = () => {
      req.result.createObjectStore('kv');
      req.result.createObjectStore('queue', { keyPath: 'id' });
    };
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
  return dbp;
}
async function tx(store, mode, fn) {
  const d = await db();
  return new Promise((resolve, reject) => {
    const t = d.transaction(store, mode);
    const req = fn(t.objectStore(store));
    t.oncomplete = () => resolve(req && req.result);
    t.onerror = () => reject(t.error);
  });
}
const kv = {
  get: (k) => tx('kv', 'readonly', (s) => s.get(k)),
  set: (k, v) => tx('kv', 'readwrite', (s) => s.put(v, k)),
};
const queue = {
  all: () => tx('queue', 'readonly', (s) => s.getAll()),
  put: (item) => tx('queue', 'readwrite', (s) => s.put(item)),
  del: (id) => tx('queue', 'readwrite', (s) => s.delete(id)),
};

// ---- API -------------------------------------------------------------------

class Problem extends Error {
  constructor(p, status) {
    super(p.detail || p.title || `HTTP ${status}`);
    this.problem = p;
    this.status = status;
  }
}

async function api(method, path, body) {
  const headers = { Accept: 'application/json' };
  const token = localStorage.getItem(API_TOKEN);
  if (token) headers.Authorization = 'Bearer ' + token;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  const data = text ? JSON.parse(text) : null;
  if (res.status === 401) { localStorage.removeItem(API_TOKEN); showLogin(); }
  if (!res.ok) throw new Problem(data || {}, res.status);
  return data;
}

function flash(msg, bad = false) {
  const f = $('flash');
  f.textContent = msg;
  f.className = 'flash' + (bad ? ' bad' : '');
  f.hidden = false;
  if (!bad) setTimeout(() => { if (f.textContent === msg) f.hidden = true; }, 6000);
}

// ---- sign in and the device key ----------------------------------------------

function showLogin() {
  const signedIn = !!localStorage.getItem(API_TOKEN);
  $('login').hidden = signedIn;
  $('logout').hidden = !signedIn;
}

$('login-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const f = new FormData(ev.target);
  try {
    const res = await api('POST', '/api/v1/auth/token', { username: f.get('username'), password: f.get('password') });
    localStorage.setItem(API_TOKEN, res.access_token);
    ev.target.reset();
    showLogin();
    flash('已登录 Signed in');
    refreshJWKS();
    sync();
  } catch (e) { flash('登录失败 Sign-in failed: ' + e.message, true); }
});
$('logout').addEventListener('click', () => { localStorage.removeItem(API_TOKEN); showLogin(); });

let me = null; // {pair, jwk, kid}
async function loadKey() {
  const pair = await kv.get('keypair');
  if (pair) me = { pair, jwk: await wl.publicJWK(pair.publicKey) };
  if (me) me.kid = await wl.thumbprint(me.jwk);
  $('key-none').hidden = !!me;
  $('key-have').hidden = !me;
  if (me) {
    $('kid').textContent = me.kid;
    $('jwk').value = JSON.stringify(me.jwk);
  }
}
$('key-new').addEventListener('click', async () => {
  const pair = await wl.generateKey(false); // the private key cannot be exported
  await kv.set('keypair', pair);
  await loadKey();
  flash('密钥已生成，请管理员登记后使用。Key made: ask your admin to register it.');
});

// ---- the gateway's public keys, for the offline ticket check ----------------------

// fetchJWKS fetches the published keys when online and caches them; it
// resolves to null offline.
async function fetchJWKS() {
  if (!navigator.onLine) return null;
  try {
    const res = await fetch('/.well-known/jwks.json');
    if (!res.ok) return null;
    const jwks = await res.json();
    kv.set('jwks', jwks).catch(() => {});
    return jwks;
  } catch { return null; } // no signal after all: the cached copy will do
}
const refreshJWKS = () => fetchJWKS();

// ---- scanning ----------------------------------------------------------------

let current = null; // the scan result being worked on

async function handleTicket(text) {
  const token = wl.tokenFrom(text);
  if (!token) return;
  $('result').hidden = false;
  $('sign').hidden = true;
  const check = $('ticket-check');
  let claims;
  try {
    // Online, the current key set; offline, the copy cached last time.
    const jwks = (await fetchJWKS()) || (await kv.get('jwks'));
    claims = await wl.verifyTicket(token, jwks);
    check.textContent = `✔ 二维码真实（本机离线核验）Genuine ticket, checked on this phone · 第 ${claims.version} 版 version · 有效至 valid until ${new Date(claims.expires * 1000).toLocaleString()}`;
    check.className = 'check good';
  } catch (e) {
    const why = {
      expired: '二维码已过期 expired', bad_signature: '二维码被篡改或伪造 tampered or forged', unknown_key: '非本系统签发 not issued by this system',
      bad_algorithm: '伪造的二维码 forged', wrong_issuer: '非本系统签发 not issued by this system', malformed: '不是联单二维码 not a manifest ticket',
    }[e.reason] || e.message;
    check.textContent = '✘ ' + why + ' — 请勿交接，联系移出人 Do not hand over; call the producer';
    check.className = 'check bad';
    $('mid').textContent = '';
    return;
  }
  $('mid').textContent = claims.manifest;
  let res = null;
  let offline = !navigator.onLine || !localStorage.getItem(API_TOKEN);
  if (!offline) {
    try {
      res = await api('POST', '/mobile/v1/scan', { ticket: token });
      await kv.set('scan:' + res.manifest.id, res);
    } catch (e) {
      if (e instanceof Problem) { flash(e.message, true); if (e.status !== 503) return; }
      offline = true;
    }
  }
  if (offline) {
    res = await kv.get('scan:' + claims.manifest);
    if (!res) {
      $('stale').hidden = false;
      $('stale').textContent = '离线且本机没有这张联单的资料：请联网扫描一次。Offline, and this phone has not seen this manifest: scan it once while online.';
      return;
    }
  }
  render(res, claims, offline);
}

function render(res, claims, offline) {
  current = res;
  const m = res.manifest;
  const stale = $('stale');
  stale.hidden = true;
  if (res.stale && !offline) {
    stale.hidden = false;
    stale.textContent = res.stale_detail;
  } else if (offline && claims.hash !== m.hash) {
    stale.hidden = false;
    stale.textContent = claims.version > m.version
      ? `纸质联单（第 ${claims.version} 版）比本机资料（第 ${m.version} 版）新：请联网后再签。The paper is newer than this phone's copy: connect before signing.`
      : `纸质联单为第 ${claims.version} 版，本机资料为第 ${m.version} 版（离线）。Paper version ${claims.version}, this phone's copy version ${m.version} (offline).`;
  }
  $('m-status').textContent = `${m.status_name.zh} ${m.status_name.en} (v${m.version})`;
  $('m-producer').textContent = `${m.producer.name || m.producer.id} · ${m.site.name}`;
  $('m-receiver').textContent = m.receiver.name || m.receiver.id;
  const n = res.next;
  $('m-next').textContent = n ? `${n.name.zh} ${n.name.en}${n.party ? ' — 本单位参与 you sign' : ''}` : '无 none';
  const ol = $('checklist');
  ol.replaceChildren();
  for (const l of res.checklist.lines) {
    const li = document.createElement('li');
    const label = document.createElement('label');
    const box = document.createElement('input');
    box.type = 'checkbox';
    box.className = 'tick';
    const text = document.createElement('span');
    const hz = l.hazards.map((h) => `${h.zh} ${h.en}`).join('、');
    text.append(
      span('code', l.code), ' ', l.waste.name || l.name, document.createElement('br'),
      `${l.name} · ${l.form.zh} · ${l.packaging_name.zh} ${l.packaging_name.en} × ${l.packages} · 申报 declared ${l.qty} ${l.unit}`,
      document.createElement('br'), `危险特性 hazard: ${hz || '—'}`,
      ...(l.units && l.units.length ? [document.createElement('br'), `电池编码 unit codes: ${l.units.length}`] : []),
    );
    label.append(box, text);
    li.append(label);
    ol.append(li);
  }
  const sel = $('vehicle');
  sel.replaceChildren();
  const plates = [...new Set([...(res.template && res.template.vehicle ? [res.template.vehicle] : []), ...res.checklist.vehicles])];
  for (const p of plates) sel.append(new Option(p, p));
  $('emergency').textContent = res.checklist.emergency;
  if (res.template && n && n.party) showSign(res);
}

function span(cls, text) {
  const s = document.createElement('span');
  s.className = cls;
  s.textContent = text;
  return s;
}

// Camera: BarcodeDetector where the browser has it; otherwise the phone's
// camera app opens the QR link, which lands here with #t=.
let stream = null;
$('camera').addEventListener('click', async () => {
  if (!('BarcodeDetector' in window) || !navigator.mediaDevices) { $('camera-note').hidden = false; return; }
  if (stream) { stopCamera(); return; }
  try {
    const det = new BarcodeDetector({ formats: ['qr_code'] });
    stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: 'environment' } });
    const v = $('video');
    v.srcObject = stream;
    v.hidden = false;
    await v.play();
    const tick = async () => {
      if (!stream) return;
      const codes = await det.detect(v).catch(() => []);
      if (codes.length) { stopCamera(); handleTicket(codes[0].rawValue); return; }
      setTimeout(tick, 200);
    };
    tick();
  } catch (e) { flash('无法打开相机 Cannot open the camera: ' + e.message, true); stopCamera(); }
});
function stopCamera() {
  if (stream) stream.getTracks().forEach((t) => t.stop());
  stream = null;
  $('video').hidden = true;
}
$('paste-form').addEventListener('submit', (ev) => { ev.preventDefault(); handleTicket($('paste').value); });
window.addEventListener('hashchange', () => handleTicket(location.hash));

// ---- signing -----------------------------------------------------------------

let prepared = null; // {statement, canonical} fixed when shown to the other phone

function myRole(res) {
  return res.template.from.org === res.you.org ? 'from' : 'to';
}

function showSign(res) {
  prepared = null;
  $('prepared').hidden = true;
  $('peer-sig').value = '';
  $('sign').hidden = false;
  const peer = myRole(res) === 'from' ? res.template.to : res.template.from;
  $('sign-who').textContent = `对方单位 Other party: ${peer.org}`;
  const ck = res.code_keys && res.code_keys[peer.org];
  $('code-key').textContent = ck ? `对方托管密钥 custodial key ${ck}` : '对方未开通验证码签署。The other party cannot sign by code.';
}

for (const r of document.querySelectorAll('input[name=mode]')) {
  r.addEventListener('change', () => {
    const code = document.querySelector('input[name=mode]:checked').value === 'code';
    $('mode-code').hidden = !code;
    $('mode-device').hidden = code;
  });
}

function position() {
  return new Promise((resolve) => {
    if (!navigator.geolocation) return resolve(null);
    navigator.geolocation.getCurrentPosition(
      (p) => resolve({ lat_e6: Math.round(p.coords.latitude * 1e6), lon_e6: Math.round(p.coords.longitude * 1e6), accuracy_m: Math.round(p.coords.accuracy) }),
      () => resolve(null), { enableHighAccuracy: true, timeout: 10000, maximumAge: 60000 });
  });
}

async function prepare(peerKey) {
  if (!me) throw new Error('本机尚无密钥 No key on this phone');
  const gps = await position();
  const mine = myRole(current);
  const st = wl.prepare(current.template, {
    fromKey: mine === 'from' ? me.kid : peerKey,
    toKey: mine === 'to' ? me.kid : peerKey,
    time: wl.statementTime(),
    place: gps ? { lat_e6: gps.lat_e6, lon_e6: gps.lon_e6 } : undefined,
    vehicle: $('vehicle').value || undefined,
  });
  return { ...st, gps };
}

$('prepare').addEventListener('click', async () => {
  const peerKid = $('peer-kid').value.trim();
  if (!/^[A-Za-z0-9_-]{43}$/.test(peerKid)) { flash('对方密钥编号应为43位 The key id has 43 characters', true); return; }
  try {
    prepared = await prepare(peerKid);
    $('canonical').value = prepared.canonical;
    $('prepared').hidden = false;
    $('share').hidden = !navigator.share;
  } catch (e) { flash(e.message, true); }
});
$('share').addEventListener('click', () => navigator.share({ text: $('canonical').value }).catch(() => {}));

$('submit').addEventListener('click', async () => {
  if (![...document.querySelectorAll('.tick')].every((b) => b.checked)) { flash('请先逐项核对货物 Tick every line after checking the load', true); return; }
  const byCode = document.querySelector('input[name=mode]:checked').value === 'code';
  try {
    let p, signatures = [], code;
    if (byCode) {
      code = $('code').value.trim();
      const peer = myRole(current) === 'from' ? current.template.to : current.template.from;
      const ck = current.code_keys && current.code_keys[peer.org];
      if (!ck || !/^[0-9]{6}$/.test(code)) { flash('需要对方的6位验证码 The 6-digit code is needed', true); return; }
      p = await prepare(ck);
    } else {
      const sig = $('peer-sig').value.trim();
      if (!prepared || !/^[A-Za-z0-9_-]{86}$/.test(sig)) { flash('请先生成待签文本并填入对方签名 Prepare the statement and enter their signature', true); return; }
      p = prepared;
      const peerKey = myRole(current) === 'from' ? p.statement.to.key : p.statement.from.key;
      signatures.push({ kid: peerKey, sig });
    }
    signatures.unshift({ kid: me.kid, sig: await wl.signCanonical(me.pair.privateKey, p.canonical) });
    const item = {
      id: crypto.randomUUID(),
      signed: { statement: JSON.parse(p.canonical), signatures },
      device_time: p.statement.time,
      ...(code ? { code } : {}),
      ...(p.gps ? { gps: p.gps } : {}),
    };
    await queue.put({ item, manifest: p.statement.manifest, step: p.statement.step, state: 'queued' });
    $('sign').hidden = true;
    prepared = null;
    flash('已签名并保存 Signed and saved' + (navigator.onLine ? '' : '；联网后自动提交 will be sent when online'));
    await sync();
  } catch (e) { flash(e.message, true); }
});

// ---- countersigning a statement from the other phone ----------------------------

let coCanonical = null;
$('co-check').addEventListener('click', async () => {
  $('co-out-wrap').hidden = true;
  try {
    const st = JSON.parse($('co-in').value);
    coCanonical = wl.jcs(st);
    if (!me || (st.from?.key !== me.kid && st.to?.key !== me.kid)) throw new Error('文本中没有本机密钥 The statement does not name this phone\'s key');
    const lines = (st.lines || []).map((l) => `  ${l.line}. ${l.code} ${l.qty} ${l.unit} × ${l.packages || 0}`).join('\n');
    $('co-summary').textContent = `联单 Manifest ${st.manifest}\n环节 Step ${st.step}\n${st.from.org} → ${st.to ? st.to.org : ''}\n车辆 Vehicle ${st.vehicle || ''}\n时间 Time ${st.time}\n${lines}`;
    $('co-review').hidden = false;
  } catch (e) { flash('无法识别 Not a statement: ' + e.message, true); }
});
$('co-sign').addEventListener('click', async () => {
  $('co-out').value = await wl.signCanonical(me.pair.privateKey, coCanonical);
  $('co-out-wrap').hidden = false;
});

// ---- the queue ------------------------------------------------------------------

async function showQueue() {
  const items = await queue.all();
  $('queued').textContent = items.length ? `待提交 ${items.length} queued` : '';
  const ul = $('queue-list');
  ul.replaceChildren();
  for (const q of items) {
    const li = document.createElement('li');
    li.append(`${q.manifest} · ${q.step} · ${q.item.device_time}`);
    if (q.error) {
      const e = document.createElement('div');
      e.className = 'err';
      e.textContent = q.error;
      const del = document.createElement('button');
      del.textContent = '删除 Remove';
      del.addEventListener('click', async () => { await queue.del(q.item.id); showQueue(); });
      li.append(e, del);
    }
    ul.append(li);
  }
}

let syncing = false;
async function sync() {
  await showQueue();
  if (syncing || !navigator.onLine || !localStorage.getItem(API_TOKEN)) return;
  syncing = true;
  try {
    const items = (await queue.all()).filter((q) => !q.error);
    for (let i = 0; i < items.length; i += BATCH) {
      const chunk = items.slice(i, i + BATCH);
      const res = await api('POST', '/mobile/v1/handovers/batch', { items: chunk.map((q) => q.item), sent_at: wl.statementTime() });
      for (const r of res.results) {
        const q = chunk.find((c) => c.item.id === r.id);
        if (r.status === 'ok' || r.status === 'duplicate') {
          await queue.del(r.id);
        } else if (r.problem && r.problem.status >= 500) {
          // the ledger is unavailable: keep it for the next try
        } else {
          q.error = r.problem ? r.problem.detail : 'refused';
          await queue.put(q);
        }
        for (const w of r.warnings || []) flash(w);
      }
      if (res.ok + res.duplicates > 0) flash(`已提交 ${res.ok + res.duplicates} 项 Sent ${res.ok + res.duplicates}` + (res.failed ? `，${res.failed} 项被拒 refused` : ''), res.failed > 0);
    }
  } catch (e) {
    if (e instanceof Problem) flash(e.message, true);
  } finally {
    syncing = false;
    showQueue();
  }
}
$('sync').addEventListener('click', sync);

// ---- start -----------------------------------------------------------------------

function showNet() {
  $('net').textContent = navigator.onLine ? '在线 online' : '离线 offline';
  $('net').className = 'pill' + (navigator.onLine ? '' : ' off');
}
window.addEventListener('online', () => { showNet(); refreshJWKS(); sync(); });
window.addEventListener('offline', showNet);
document.addEventListener('click', (ev) => {
  const id = ev.target.dataset && ev.target.dataset.copy;
  if (id) navigator.clipboard.writeText($(id).value).then(() => flash('已复制 Copied'), () => {});
});

if ('serviceWorker' in navigator) navigator.serviceWorker.register('/m/sw.js', { scope: '/m/' }).catch(() => {});
showNet();
showLogin();
if (location.hash.includes('t=')) handleTicket(location.hash);
else refreshJWKS();
loadKey().then(sync, (e) => flash('本机存储不可用 Storage unavailable: ' + e.message, true));
