// The driver app's service worker: keeps the app shell so the app opens
// with no signal (scanning, the offline ticket check, signing and queueing
// all work offline). The shell is network-first, so an update arrives as
// soon as the phone is online; API calls are never cached.
const CACHE = 'wl-driver-v1';
const SHELL = ['/m/', '/m/app.mjs', '/m/wl.mjs', '/m/style.css', '/m/manifest.webmanifest'];

self.addEventListener('install', (e) => {
  e.waitUntil(caches.open(CACHE).then((c) => c.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener('activate', (e) => {
  e.waitUntil(caches.keys()
    .then((keys) => Promise.all(keys.filter((k) => k !== CACHE).map((k) => caches.delete(k))))
    .then(() => self.clients.claim()));
});

self.addEventListener('fetch', (e) => {
  const url = new URL(e.request.url);
  if (e.request.method !== 'GET' || url.origin !== location.origin || !url.pathname.startsWith('/m/')) return;
  const key = url.pathname === '/m/index.html' ? '/m/' : url.pathname;
  e.respondWith(fetch(e.request).then((res) => {
    if (res.ok) {
      const copy = res.clone();
      caches.open(CACHE).then((c) => c.put(key, copy));
    }
    return res;
  }).catch(() => caches.match(key).then((hit) => hit || Response.error())));
});
