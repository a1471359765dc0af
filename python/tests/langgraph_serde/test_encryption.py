"""5. EncryptedSerializer around FastSerializer: round trips, reads of the parent's ciphertexts,
and an allowlist widened through the wrapper."""

from __future__ import annotations

from typing import Any

from langchain_core.messages import HumanMessage
from langgraph.checkpoint.base import _with_msgpack_allowlist
from langgraph.checkpoint.serde.encrypted import EncryptedSerializer
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

import lg_models as M
from fast_serde.langgraph import FastSerializer
from lg_helpers import AI_FULL, DT_US
from lg_probes import CONSTRUCTED, THIS, ProbeModel
from lg_strategies import assert_same


class XorCipher:
    """A deterministic toy cipher (CipherProtocol) so both sides' ciphertexts are comparable."""

    def __init__(self, key: bytes) -> None:
        self.key = key

    def encrypt(self, plaintext: bytes) -> tuple[str, bytes]:
        return "xor", bytes(b ^ self.key[i % len(self.key)] for i, b in enumerate(plaintext))

    def decrypt(self, ciphername: str, ciphertext: bytes) -> bytes:
        assert ciphername == "xor"
        return bytes(b ^ self.key[i % len(self.key)] for i, b in enumerate(ciphertext))


def _encrypted_pair(**kw: Any) -> tuple[EncryptedSerializer, EncryptedSerializer]:
    try:
        import Crypto.Cipher.AES  # noqa: F401
    except ImportError:
        cipher = XorCipher(b"k3y")
        return EncryptedSerializer(cipher, serde=JsonPlusSerializer(**kw)), EncryptedSerializer(cipher, serde=FastSerializer(**kw))
    key = b"0123456789abcdef"
    return (
        EncryptedSerializer.from_pycryptodome_aes(serde=JsonPlusSerializer(**kw), key=key),
        EncryptedSerializer.from_pycryptodome_aes(serde=FastSerializer(**kw), key=key),
    )


def test_encrypted_round_trip_and_cross_read() -> None:
    ej, ef = _encrypted_pair()
    value = {"messages": [HumanMessage("hi"), AI_FULL], "p": M.Profile(name="x"), "when": DT_US, None: b"raw"}
    tf = ef.dumps_typed(value)
    tj = ej.dumps_typed(value)
    assert tf[0] == tj[0] == "msgpack+" + tf[0].split("+", 1)[1]
    assert_same(ef.loads_typed(tj), ej.loads_typed(tf))
    assert_same(ef.loads_typed(tf), ej.loads_typed(tj))
    # Plaintext (unencrypted) data is still read through the inner serializer.
    plain = FastSerializer().dumps_typed(value)
    assert_same(ef.loads_typed(plain), ej.loads_typed(plain))
    # The decrypted bytes are the parent's own.
    if isinstance(ef.cipher, XorCipher):
        assert tf == tj
    for v in (None, b"bytes", bytearray(b"ba")):
        assert_same(ef.loads_typed(ef.dumps_typed(v)), ej.loads_typed(ej.dumps_typed(v)))


def test_encrypted_with_allowlist_keeps_fast_serializer() -> None:
    ej, ef = _encrypted_pair(allowed_msgpack_modules=None)
    data = ef.dumps_typed(ProbeModel(x=9))
    CONSTRUCTED.clear()
    assert ef.loads_typed(data) == ej.loads_typed(data) == {"x": 9, "tag": ""}
    assert CONSTRUCTED == []
    widened = _with_msgpack_allowlist(ef, [(THIS, "ProbeModel")])
    assert isinstance(widened, EncryptedSerializer) and isinstance(widened.serde, FastSerializer)
    assert widened.loads_typed(data) == ProbeModel(x=9)
