# kinu behind Varnish 7 (Debian's varnish package, 7.1 or newer).
#
# - Variants are spread over the kinu instances by a shard director hashed by URL, so each variant is made
#   on one instance; a backend that does not answer is skipped at once (retry on the next one on the ring)
#   and health probes on /_kinu/health take it out of the ring within seconds.
# - Accept is normalised to the eight classes kinu negotiates with (whether it names jxl, avif, webp) before the
#   cache lookup, so `Vary: Accept` (sent by kinu on fmt=auto responses only) keeps at most eight objects per URL.
# - The cache key is the URL, query string included (Host is left out: every host name shows the same images).
# - Stale objects are served for up to a day while every backend is sick (grace); errors (5xx) are never
#   cached, and a failed background refresh keeps the stale object.
# - /_kinu/* (health, metrics, management API) is passed to kinu, never cached.
# - PURGE <url> (all variants of one URL) and BAN with `X-Kinu-Key: <key>` (every variant of one original,
#   sent by kinu when an original is deleted or replaced; see KINU_PURGE_URL) are accepted from the
#   kinu_purge ACL only. X-Kinu-Key is never shown to clients.
#
# Site-specific parts live in kinu-backends.vcl, looked up on vcl_path (default /etc/varnish:...): the backends,
# the kinu_purge ACL, and `sub kinu_add_backends` that puts every backend in the director. Start from
# kinu-backends.example.vcl next to this file; this file is meant to be used unchanged.
vcl 4.1;

import directors;
import std;

probe kinu_health {
    .url = "/_kinu/health";
    .interval = 2s;
    .timeout = 1s;
    .window = 5;
    .threshold = 3;
}

sub vcl_init {
    new kinu = directors.shard();
    call kinu_add_backends;
    kinu.reconfigure();
}

# After vcl_init (its add_backend() calls need the director) and before vcl_recv (which uses the ACL).
include "kinu-backends.vcl";

sub vcl_recv {
    if (req.method == "PURGE" || req.method == "BAN") {
        if (client.ip !~ kinu_purge) {
            return (synth(403, "Forbidden"));
        }
        if (req.method == "PURGE") {
            return (purge);
        }
        # kinu sends the original's key as encodeURIComponent() gives it, so it has no space, quote or
        # backslash: it is one token of the ban expression as it is (std.ban() would keep quotes literally).
        if (req.http.X-Kinu-Key !~ "^[A-Za-z0-9%._~!*'()-]+$") {
            return (synth(400, "BAN needs an X-Kinu-Key header (the percent-encoded key of the original)"));
        }
        # Only obj.* in the expression, so the ban lurker can clear memory in the background.
        if (std.ban("obj.http.X-Kinu-Key == " + req.http.X-Kinu-Key)) {
            return (synth(200, "Banned"));
        }
        return (synth(400, std.ban_error()));
    }

    set req.backend_hint = kinu.backend(resolve=LAZY);

    if (req.url ~ "^/_kinu(/|$)") {
        return (pass);
    }
    if (req.method != "GET" && req.method != "HEAD") {
        return (pass);
    }

    # Images never depend on cookies or credentials: do not let them split or bypass the cache.
    unset req.http.Cookie;
    unset req.http.Authorization;

    # The formats kinu picks for fmt=auto depend only on whether Accept names image/jxl, image/avif and
    # image/webp with a q above 0 (a bare */* or image/* names none). Normalise to one canonical header per
    # class, built in kinu's order of preference: `image/jxl,image/avif,image/webp,*/*` down to `*/*`.
    set req.http.X-Kinu-Accept = "";
    if (req.http.Accept ~ "(?i)(^|,)\s*image/jxl\s*(,|$|;(?![^,]*\bq\s*=\s*0*(\.0*)?\s*(;|,|$)))") {
        set req.http.X-Kinu-Accept = "image/jxl,";
    }
    if (req.http.Accept ~ "(?i)(^|,)\s*image/avif\s*(,|$|;(?![^,]*\bq\s*=\s*0*(\.0*)?\s*(;|,|$)))") {
        set req.http.X-Kinu-Accept = req.http.X-Kinu-Accept + "image/avif,";
    }
    if (req.http.Accept ~ "(?i)(^|,)\s*image/webp\s*(,|$|;(?![^,]*\bq\s*=\s*0*(\.0*)?\s*(;|,|$)))") {
        set req.http.X-Kinu-Accept = req.http.X-Kinu-Accept + "image/webp,";
    }
    set req.http.Accept = req.http.X-Kinu-Accept + "*/*";
    unset req.http.X-Kinu-Accept;

    # Grace: while a backend is healthy an expired object is refreshed almost at once; while every backend is
    # sick the whole grace (beresp.grace below) is used.
    if (std.healthy(req.backend_hint)) {
        set req.grace = 10s;
    }
    return (hash);
}

sub vcl_hash {
    hash_data(req.url);
    return (lookup);
}

sub vcl_backend_fetch {
    # By URL: every Accept class of a URL is made on the same instance. A retry (the chosen instance did not
    # answer) goes to the next instance on the ring.
    set bereq.backend = kinu.backend(by=URL, alt=bereq.retries);
}

sub vcl_backend_response {
    set beresp.http.X-Kinu-Backend = beresp.backend.name;
    if (beresp.status >= 500) {
        # A draining (shutting_down) or overloaded instance: try the next one once.
        if (beresp.status == 503 && bereq.retries == 0 && (bereq.method == "GET" || bereq.method == "HEAD")) {
            return (retry);
        }
        # A failed background refresh must not replace the stale object still being served.
        if (bereq.is_bgfetch) {
            return (abandon);
        }
        # Never cached; a short hit-for-miss so the next requests go to kinu without queueing on each other.
        set beresp.ttl = 5s;
        set beresp.grace = 0s;
        set beresp.uncacheable = true;
        return (deliver);
    }
    if (beresp.status == 200) {
        set beresp.grace = 24h;
        # Expired objects are kept a while longer so Varnish can revalidate them with If-None-Match (kinu's ETag).
        set beresp.keep = 24h;
    }
    # Otherwise Varnish's built-in rules: Cache-Control from kinu decides (kinu's errors are no-store).
}

sub vcl_backend_error {
    # No answer at all (connection refused, timeout): try the next instance on the ring.
    if (bereq.retries < 2 && (bereq.method == "GET" || bereq.method == "HEAD")) {
        return (retry);
    }
}

sub vcl_deliver {
    unset resp.http.X-Kinu-Key;
    if (obj.hits > 0) {
        set resp.http.X-Cache = "HIT";
    } else {
        set resp.http.X-Cache = "MISS";
    }
    # Which instance made the object: shown to the hosts allowed to purge only.
    if (client.ip !~ kinu_purge) {
        unset resp.http.X-Kinu-Backend;
    }
}
