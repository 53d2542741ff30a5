#!/usr/bin/env python3
"""Writes the hand-made seed corpora under fuzz/corpus/<target>/ (run from anywhere).

Tokens are signed with the harness's fixed secrets (tests/fuzz-harness/src/common.rs), so the
valid ones reach the claims checks. Re-run after changing the secrets or the input layouts.
"""
import base64
import hashlib
import hmac
import json
import os
import pathlib

SECRET = b"rotor fuzz secret, forty bytes long!!!!!"
OTHER = b"another fuzz secret, forty bytes long!!!"
ROOT = pathlib.Path(__file__).resolve().parent / "corpus"

# RFC 7515 Appendix A.1: the HS256 example, verbatim (its own key, so our verifier refuses it).
RFC7515_A1 = (
    "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9"
    ".eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ"
    ".dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
)
RFC7515_A1_HEADER = b'{"typ":"JWT",\r\n "alg":"HS256"}'
RFC7515_A1_PAYLOAD = b'{"iss":"joe",\r\n "exp":1300819380,\r\n "http://example.com/is_root":true}'


def b64(data: bytes) -> bytes:
    return base64.urlsafe_b64encode(data).rstrip(b"=")


def sign(header: bytes, payload: bytes, secret: bytes = SECRET) -> bytes:
    signing_input = b64(header) + b"." + b64(payload)
    tag = hmac.new(secret, signing_input, hashlib.sha256).digest()
    return signing_input + b"." + b64(tag)


H = b'{"alg":"HS256","typ":"JWT"}'
FAR = 4102444800  # 2100-01-01
GOOD = json.dumps(
    {"iss": "auth.example", "aud": "api", "sub": "42", "exp": FAR, "iat": 1700000000},
    separators=(",", ":"),
).encode()

# (name, header JSON, payload JSON): each becomes a signed token.
JSON_CASES = [
    ("valid-strict", H, GOOD),
    ("valid-minimal", b'{"alg":"HS256"}', b'{"sub":"42"}'),
    ("valid-empty-claims", H, b"{}"),
    ("rfc7515-a1-resigned", RFC7515_A1_HEADER, RFC7515_A1_PAYLOAD),
    ("aud-array", H, b'{"aud":["x","api"],"exp":4102444800,"iss":"auth.example"}'),
    ("escapes", b'{"alg":"HS\\u0032\\u0035\\u0036","typ":"jwt"}',
     b'{"iss":"\\u0061uth.example","sub":"\\"\\\\\\n\\u0001\\ud83d\\ude00","aud":"api","exp":4102444800}'),
    ("whitespace", b' {\t"alg" : "HS256" }\r\n', b'{ "exp" : 4102444800 , "n" : [ 1 , 2 ] }'),
    ("typ-at-jwt", b'{"alg":"HS256","typ":"at+jwt"}', b'{"exp":4102444800}'),
    ("typ-other", b'{"alg":"HS256","typ":"JWS"}', b'{"exp":4102444800}'),
    ("kid-unknown", b'{"alg":"HS256","kid":"nope"}', b'{"exp":4102444800}'),
    ("alg-none", b'{"alg":"none"}', b'{"sub":"admin"}'),
    ("alg-lowercase", b'{"alg":"hs256"}', b'{"sub":"admin"}'),
    ("alg-hs512", b'{"alg":"HS512"}', b'{"sub":"admin"}'),
    ("alg-rs256", b'{"alg":"RS256"}', b'{"sub":"admin"}'),
    ("alg-array", b'{"alg":["HS256"]}', b'{"sub":"admin"}'),
    ("crit", b'{"alg":"HS256","crit":["exp"]}', b'{"exp":4102444800}'),
    ("b64-false", b'{"alg":"HS256","b64":false}', b'{"exp":4102444800}'),
    ("jwk-embedded", b'{"alg":"HS256","jwk":{"kty":"oct","k":"AAAA"}}', b'{"exp":4102444800}'),
    ("cty-number", b'{"alg":"HS256","cty":1}', b'{"exp":4102444800}'),
    ("dup-alg", b'{"alg":"HS256","alg":"none"}', b'{"exp":4102444800}'),
    ("dup-exp", H, b'{"exp":4102444800,"exp":1}'),
    ("dup-escaped", H, b'{"sub":"a","s\\u0075b":"b"}'),
    ("exp-float", H, b'{"exp":4102444800.5}'),
    ("exp-exponent", H, b'{"exp":4.1e9}'),
    ("exp-negative", H, b'{"exp":-1}'),
    ("exp-string", H, b'{"exp":"4102444800"}'),
    ("exp-null", H, b'{"exp":null}'),
    ("exp-u64-max", H, b'{"exp":18446744073709551615}'),
    ("exp-u64-overflow", H, b'{"exp":18446744073709551616}'),
    ("number-1e400", H, b'{"exp":4102444800,"x":1e400}'),
    ("iat-future", H, b'{"exp":4102444800,"iat":4102444000}'),
    ("nbf-future", H, b'{"exp":4102444800,"nbf":4102444000}'),
    ("iss-array", H, b'{"exp":4102444800,"iss":["auth.example"]}'),
    ("sub-number", H, b'{"exp":4102444800,"sub":42}'),
    ("aud-number", H, b'{"exp":4102444800,"aud":1}'),
    ("payload-array", H, b'[4102444800,0,null,null,null]'),
    ("dup-unknown", H, b'{"x":1,"x":2}'),
    ("lone-surrogate", H, b'{"sub":"\\ud800"}'),
    ("invalid-utf8", H, b'{"sub":"\xff\xfe"}'),
    ("deep-64", H, b'{"a":' + b"[" * 63 + b"]" * 63 + b"}"),
    ("deep-65", H, b'{"a":' + b"[" * 64 + b"]" * 64 + b"}"),
    ("deep-100", H, b'{"a":' + b"[" * 99 + b"]" * 99 + b"}"),
    ("trailing-garbage", H, b'{"exp":4102444800}x'),
    ("header-32-members", b'{"alg":"HS256",' + b",".join(b'"%d":0' % i for i in range(31)) + b"}",
     b'{"exp":4102444800}'),
    ("header-33-members", b'{"alg":"HS256",' + b",".join(b'"%d":0' % i for i in range(32)) + b"}",
     b'{"exp":4102444800}'),
]


def write(target: str, name: str, data: bytes) -> None:
    d = ROOT / target
    d.mkdir(parents=True, exist_ok=True)
    (d / name).write_bytes(data)


def main() -> None:
    for target in ["verify", "decode_parts", "roundtrip", "differential", "buffers"]:
        d = ROOT / target
        if d.exists():
            for f in d.iterdir():
                # found-*: inputs picked from a fuzzing run's merged corpus, kept across runs.
                if not f.name.startswith("found-"):
                    f.unlink()

    # verify: raw tokens, including attack shapes that are not signed JSON.
    for name, h, p in JSON_CASES:
        write("verify", name, sign(h, p))
    write("verify", "rfc7515-a1", RFC7515_A1.encode())
    write("verify", "kid-k2", sign(b'{"alg":"HS256","kid":"k2"}', GOOD))
    write("verify", "kid-k1-other-secret", sign(b'{"alg":"HS256","kid":"k1"}', GOOD, OTHER))
    good = sign(H, GOOD)
    hs, ps, ss = good.split(b".")
    write("verify", "padded-segments", hs + b"==." + ps + b"." + ss + b"=")
    last = ss[-1:]
    twin = {b"A": b"B", b"E": b"F", b"I": b"J", b"M": b"N", b"Q": b"R", b"U": b"V",
            b"Y": b"Z", b"c": b"d", b"g": b"h", b"k": b"l", b"o": b"p", b"s": b"t",
            b"w": b"x", b"0": b"1", b"4": b"5", b"8": b"9"}.get(last, last)
    write("verify", "signature-noncanonical-tail", hs + b"." + ps + b"." + ss[:-1] + twin)
    write("verify", "four-segments", good + b".x")
    write("verify", "empty-signature", hs + b"." + ps + b".")
    write("verify", "standard-base64", base64.b64encode(H).rstrip(b"=") + b"." + ps + b"." + ss)

    # decode_parts: [mode, header length, header, payload]; even mode = JSON, odd = base64url.
    for name, h, p in JSON_CASES:
        if len(h) < 256:
            write("decode_parts", name, bytes([0, len(h)]) + h + p)
    for name, hseg, pseg in [
        ("b64-valid", b64(H), b64(GOOD)),
        ("b64-padded", b64(H) + b"==", b64(GOOD)),
        ("b64-standard-alphabet", base64.b64encode(b'{"alg":"HS256","x":"??>"}').rstrip(b"="), b64(b"{}")),
        ("b64-noncanonical-tail", b64(H)[:-1] + b"1", b64(b"{}")),
        ("b64-one-char-tail", b64(H) + b"A", b64(b"{}")),
    ]:
        write("decode_parts", name, bytes([1, len(hseg)]) + hseg + pseg)

    # differential: [mode, policy, ...]; even mode = [header length, header, payload] with
    # '@'+byte standing for now + (byte as i8); odd mode = a raw token.
    for name, h, p in JSON_CASES:
        if len(h) < 256:
            write("differential", name, bytes([0, 0, len(h)]) + h + p)
    for name, p in [
        ("exp-now-minus-31", b'{"exp":@\xe1}'),
        ("exp-now-minus-30", b'{"exp":@\xe2}'),
        ("exp-now-minus-29", b'{"exp":@\xe3}'),
        ("nbf-now-plus-30", b'{"exp":4102444800,"nbf":@\x1e}'),
        ("nbf-now-plus-31", b'{"exp":4102444800,"nbf":@\x1f}'),
        ("iat-now-plus-31", b'{"exp":4102444800,"iat":@\x1f}'),
        ("all-times-now", b'{"exp":@\x01,"nbf":@\x00,"iat":@\x00,"sub":"42"}'),
    ]:
        write("differential", name, bytes([0, 0b0001, len(H)]) + H + p)
    write("differential", "raw-rfc7515-a1", bytes([1, 0]) + RFC7515_A1.encode())
    write("differential", "raw-valid-strict-policy", bytes([1, 0b1111]) + good)
    write("differential", "strict-policy-wrong-aud", bytes([0, 0b1111, len(H)]) + H
          + b'{"iss":"auth.example","aud":["x"],"sub":"42","exp":4102444800}')

    # roundtrip and buffers: `arbitrary` reads these as claims (and for roundtrip, a byte to
    # change); hand-made byte patterns that give short, escaped, long and absent strings.
    structured = {
        "zeros": bytes(32),
        "ones": b"\xff" * 64,
        "ascii": b"\x01auth.example\x01api\x0142\x01\x00\x00\x00\x00\x01exp-and-more-claims" * 2,
        "quotes-and-controls": b'\x01"\\\n\x00\x1f\x7f\x01</script>\x01\xe2\x82\xac\x01\xf0\x9f\x98\x80' * 3,
        "long-kid": b"\x01" + b"k" * 80 + b"\x01" * 8 + b"\x40" * 24,
        "big-numbers": b"\x00\x00\x00\x01\xff\xff\xff\xff\xff\xff\xff\xff\x01\x00\x00\x00\x00\x00\x00\x00\x80\x01" * 2,
    }
    for name, data in structured.items():
        write("roundtrip", name, data)
        write("buffers", name, data)


if __name__ == "__main__":
    main()
