# Site-specific part of kinu.vcl: copy to /etc/varnish/kinu-backends.vcl (any folder on varnishd's vcl_path)
# and list your kinu instances. kinu.vcl includes it and must not be edited.
#
# One `backend` per kinu instance, each with `.probe = kinu_health;` (defined in kinu.vcl), and one
# add_backend() line per backend in kinu_add_backends. Keep the backend names stable: the shard ring is
# built from them, so renaming one moves its variants to another instance.

backend kinu1 {
    .host = "127.0.0.1";
    .port = "8080";
    .probe = kinu_health;
    .connect_timeout = 1s;
    .first_byte_timeout = 30s;
    .between_bytes_timeout = 10s;
}

backend kinu2 {
    .host = "127.0.0.1";
    .port = "8081";
    .probe = kinu_health;
    .connect_timeout = 1s;
    .first_byte_timeout = 30s;
    .between_bytes_timeout = 10s;
}

sub kinu_add_backends {
    kinu.add_backend(kinu1);
    kinu.add_backend(kinu2);
}

# Who may send PURGE and BAN: the kinu instances (their purge hook, KINU_PURGE_URL) and your admin hosts.
# These hosts also see X-Kinu-Backend (which instance made an object) on responses.
acl kinu_purge {
    "127.0.0.1";
    "::1";
}
