"""Hypothesis strategies for STUN attribute values and messages."""

from __future__ import annotations

from hypothesis import strategies as st

from pywebrtc import stun

transaction_ids = st.binary(min_size=12, max_size=12)
ports = st.integers(0, 0xFFFF)
hosts = st.ip_addresses().map(str)
# Anything UTF-8 can encode (no lone surrogates).
texts = st.text(st.characters(codec="utf-8"), max_size=80)
u16 = st.integers(0, 0xFFFF)
u32 = st.integers(0, 0xFFFF_FFFF)
u64 = st.integers(0, 0xFFFF_FFFF_FFFF_FFFF)
error_codes = st.integers(300, 699)

attribute_values: st.SearchStrategy[stun.AttributeValue] = st.one_of(
    st.builds(stun.MappedAddress, hosts, ports),
    st.builds(stun.XorMappedAddress, hosts, ports),
    st.builds(stun.XorPeerAddress, hosts, ports),
    st.builds(stun.XorRelayedAddress, hosts, ports),
    st.builds(stun.AlternateServer, hosts, ports),
    st.builds(stun.Username, texts),
    st.builds(stun.Realm, texts),
    st.builds(stun.Nonce, texts),
    st.builds(stun.Software, texts),
    st.builds(stun.AlternateDomain, texts),
    st.builds(stun.Userhash, st.binary(min_size=32, max_size=32)),
    st.builds(stun.MessageIntegrity, st.binary(min_size=20, max_size=20)),
    st.builds(
        stun.MessageIntegritySha256,
        st.sampled_from([16, 20, 24, 28, 32]).flatmap(lambda n: st.binary(min_size=n, max_size=n)),
    ),
    st.builds(stun.Fingerprint, u32),
    st.builds(stun.ErrorCode, error_codes, texts),
    st.builds(stun.AddressErrorCode, st.integers(0, 255), error_codes, texts),
    st.builds(stun.UnknownAttributes, st.lists(u16, max_size=8).map(tuple)),
    st.builds(stun.PasswordAlgorithm, u16, st.binary(max_size=12)),
    st.builds(
        stun.PasswordAlgorithms,
        st.lists(st.tuples(u16, st.binary(max_size=12)), max_size=4).map(tuple),
    ),
    st.builds(stun.Priority, u32),
    st.builds(stun.UseCandidate),
    st.builds(stun.IceControlled, u64),
    st.builds(stun.IceControlling, u64),
    st.builds(stun.Lifetime, u32),
    st.builds(stun.RequestedTransport, st.integers(0, 255)),
    st.builds(stun.Data, st.binary(max_size=64)),
    st.builds(stun.ChannelNumber, u16),
    st.builds(stun.DontFragment),
    st.builds(stun.EvenPort, st.booleans()),
    st.builds(stun.ReservationToken, st.binary(min_size=8, max_size=8)),
    st.builds(stun.RequestedAddressFamily, st.integers(0, 255)),
    st.builds(stun.AdditionalAddressFamily, st.integers(0, 255)),
)

# Attributes for a message body: anything but integrity and fingerprint, which have placement
# rules of their own and are added by ``encode``.
_TRAILER_TYPES = (
    stun.AttributeType.MESSAGE_INTEGRITY,
    stun.AttributeType.MESSAGE_INTEGRITY_SHA256,
    stun.AttributeType.FINGERPRINT,
)
body_attribute_values = attribute_values.filter(lambda a: a.TYPE not in _TRAILER_TYPES)
# Unknown types keep raw values of any length.
unknown_raw_attributes = st.tuples(
    u16.filter(lambda t: t not in stun.KNOWN_ATTRIBUTE_TYPES), st.binary(max_size=40)
)
methods = st.one_of(st.sampled_from(list(stun.Method)), st.integers(0, 0xFFF))
classes = st.sampled_from(list(stun.MessageClass))


@st.composite
def messages(draw: st.DrawFn) -> stun.Message:
    tid = draw(transaction_ids)
    parts = draw(st.lists(st.one_of(body_attribute_values, unknown_raw_attributes), max_size=8))
    return stun.Message.create(draw(methods), draw(classes), parts, tid)


@st.composite
def binding_requests(draw: st.DrawFn) -> bytes:
    """A signed, fingerprinted Binding request with a USERNAME somewhere among its attributes."""
    tid = draw(transaction_ids)
    before = draw(st.lists(body_attribute_values.filter(_not_username), max_size=3))
    after = draw(st.lists(body_attribute_values, max_size=3))
    attrs = [*before, stun.Username(draw(texts)), *after]
    message = stun.Message.create(stun.Method.BINDING, stun.MessageClass.REQUEST, attrs, tid)
    return message.encode(draw(st.binary(max_size=32)), fingerprint=draw(st.booleans()))


def _not_username(value: stun.AttributeValue) -> bool:
    return value.TYPE != stun.AttributeType.USERNAME
