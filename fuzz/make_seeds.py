#!/usr/bin/env python3
"""Write the small committed seed corpora under fuzz/seeds/<target>/ (run.sh copies them into
fuzz/corpus/<target>/ before fuzzing). Re-run after editing; file names are content hashes."""
import hashlib, os

HERE = os.path.dirname(os.path.abspath(__file__))

def req(method, target, headers=(), body=b"", ip=b"10.0.0.1"):
    h = b"\n".join(headers)
    parts = [method, target, h, body]
    if ip is not None:
        parts.append(ip)
    return b"\x00".join(parts)

FORM = b"content-type: application/x-www-form-urlencoded"
ADMIN = b"authorization: Bearer $ADMIN"
CC = b"grant_type=client_credentials"

SEEDS = {
    "form": [
        b"grant_type=client_credentials&scope=a%20b",
        b"grant_type=client_credentials&client_id=cid&client_secret=p+w%2B%3A",
        b"token=abc.def&token_type_hint=access_token",
        b"a=1&a=2&&flag&=x&scope=",
        b"%C3%A9%2F%3F%26%3D+x",
        b"bad=%G1&trunc=%4",
    ],
    "authorization": [
        b"Basic dXNlcjpwYXNz",
        b"basic Y2lkOmNzZWNyZXQ\x00client_id=cid",
        b"Basic Y2lkOmNzZWNyZXQ=\x00grant_type=client_credentials&client_secret=x",
        b"Bearer abc.DEF-_~+/==",
        b"Digest realm=x",
        b"\x00client_id=cid&client_secret=csecret",
        b"Basic bXklM0FpZDpwK3clMkI=",
    ],
    "admin_json": [
        b'{"name":"x","token_ttl":300}',
        b'{"name":" svc ","scopes":["read","write","read"],"token_ttl":5,"max_lifetime":60,'
        b'"expiry":"fixed","ip_binding":false,"api_key":true,"introspect":true,"rate_limit":100}',
        b'{"name":"k","grant_types":[],"rate_limit":null}',
        b'{"disabled":true,"rate_limit":null}',
        b'{"grace":60}',
        b"",
        b'{"name":"a","token_ttl":600,"max_lifetime":60}',
    ],
    "token_request": [
        # client_secret_basic, then validate the token from the same address
        req(b"POST", b"/token", [FORM, b"authorization: $BASIC"], CC + b"&scope=read")
        + b"\x1e" + req(b"GET", b"/validate?scope=read", [b"authorization: Bearer $TOKEN"]),
        # client_secret_post, introspect, revoke, validate again
        req(b"POST", b"/token", [b"content-type: application/x-www-form-urlencoded; charset=UTF-8"],
            CC + b"&client_id=$ID&client_secret=$SECRET&scope=read%20write")
        + b"\x1e" + req(b"POST", b"/introspect", [FORM, b"authorization: $BASIC"], b"token=$TOKEN")
        + b"\x1e" + req(b"POST", b"/revoke", [FORM, b"authorization: $BASIC"], b"token=$TOKEN&token_type_hint=access_token")
        + b"\x1e" + req(b"GET", b"/validate", [b"authorization: Bearer $TOKEN"]),
        # API keys, header and query, rate-limited
        req(b"GET", b"/validate?key=cid&scope=read", [])
        + b"\x1e" + req(b"GET", b"/validate", [b"key: cid"])
        + b"\x1e" + req(b"GET", b"/validate", [b"key: fixed"], ip=None),
        # admin: create, token with the new client, patch, rotate with grace, delete
        req(b"POST", b"/admin/clients", [ADMIN], b'{"name":"x","token_ttl":300,"scopes":["a","b"]}')
        + b"\x1e" + req(b"POST", b"/token", [FORM], CC + b"&scope=a%20b&client_id=$NEW&client_secret=$NEWSECRET")
        + b"\x1e" + req(b"PATCH", b"/admin/clients/$NEW", [ADMIN], b'{"disabled":true}')
        + b"\x1e" + req(b"POST", b"/admin/clients/$NEW/secret", [ADMIN], b'{"grace":60}')
        + b"\x1e" + req(b"GET", b"/admin/clients", [ADMIN])
        + b"\x1e" + req(b"DELETE", b"/admin/clients/$NEW", [ADMIN]),
        # failures: wrong secret (brute-force counters), wrong grant, bad scope, too large
        req(b"POST", b"/token", [FORM, b"authorization: Basic Y2lkOndyb25n"], CC)
        + b"\x1e" + req(b"POST", b"/token", [FORM, b"authorization: $BASIC"], b"grant_type=password")
        + b"\x1e" + req(b"POST", b"/token", [FORM, b"authorization: $BASIC"], CC + b"&scope=admin")
        + b"\x1e" + req(b"POST", b"/token?client_secret=x", [FORM, b"authorization: $BASIC"], CC)
        + b"\x1e" + req(b"POST", b"/token", [FORM, b"authorization: $BASIC"], b"$HUGE"),
        req(b"GET", b"/.well-known/oauth-authorization-server", []),
        req(b"POST", b"/token", [FORM], CC + b"&client_id=fixed&client_secret=fsecret", ip=b"::ffff:10.0.0.1"),
    ],
}

for target, seeds in SEEDS.items():
    d = os.path.join(HERE, "seeds", target)
    os.makedirs(d, exist_ok=True)
    for s in seeds:
        with open(os.path.join(d, hashlib.sha1(s).hexdigest()), "wb") as f:
            f.write(s)
    print(f"{target}: {len(seeds)} seeds in {d}")
