"""What the parser must know about words: protocols and their fields, meta/ct/rt keys.

Kept in this one module so the parser can switch to ``pkttables.proto`` (the shared
tables being written now) by changing only this file.  The parser reads every
``<proto> <field>`` pair generically and only checks the field against these tables:
adding a field is one word here, with no parser change.  Names follow nft 1.0.6
(``src/proto.c``, ``src/meta.c``, ``src/ct.c``, ``src/exthdr.c``).
"""

from __future__ import annotations

__all__ = [
    "PROTO_FIELDS", "EXTHDR_FIELDS", "META_KEYS", "META_UNQUALIFIED", "CT_KEYS",
    "CT_DIR_KEYS", "RT_KEYS", "TCP_OPTIONS", "IP_OPTIONS", "SCTP_CHUNKS", "FIB_FLAGS",
    "FIB_RESULTS", "SOCKET_KEYS", "IPSEC_KEYS", "FAMILIES",
]


def _w(s: str) -> frozenset[str]:
    return frozenset(s.split())


# Payload protocols: ``<proto> <field>`` (nft proto.c hdr templates).
PROTO_FIELDS: dict[str, frozenset[str]] = {
    "ether": _w("daddr saddr type"),
    "vlan": _w("id dei cfi pcp type"),
    "arp": _w("htype ptype hlen plen operation saddr daddr"),
    "ip": _w("version hdrlength dscp ecn length id frag-off ttl protocol checksum saddr daddr"),
    "icmp": _w("type code checksum id sequence gateway mtu"),
    "igmp": _w("type mrt checksum group"),
    "ip6": _w("version dscp ecn flowlabel length nexthdr hoplimit saddr daddr"),
    "icmpv6": _w("type code checksum parameter-problem packet-too-big mtu id sequence max-delay"),
    "ah": _w("nexthdr hdrlength reserved spi sequence"),
    "esp": _w("spi sequence"),
    "comp": _w("nexthdr flags cpi"),
    "udp": _w("sport dport length checksum"),
    "udplite": _w("sport dport csumcov checksum"),
    "tcp": _w("sport dport sequence ackseq doff reserved flags window checksum urgptr"),
    "dccp": _w("sport dport type"),
    "sctp": _w("sport dport vtag checksum"),
    "th": _w("sport dport"),
}
# bison's "expecting ..." after ``<proto> <unknown word>`` (nft 1.0.6, captured; bison
# lists at most four, so the other protocols print none).
PROTO_FIELD_EXPECT = {
    "ether": "saddr or daddr or type", "igmp": "type or checksum or mrt or group",
    "esp": "seq or spi", "comp": "nexthdr or flags or cpi",
    "udp": "length or checksum or sport or dport", "udplite": "checksum or sport or dport or csumcov",
    "dccp": "type or sport or dport", "th": "sport or dport",
}
# IPv6 extension headers: ``<hdr> <field>`` and ``exthdr <hdr> exists``.
EXTHDR_FIELDS: dict[str, frozenset[str]] = {
    "hbh": _w("nexthdr hdrlength"),
    "rt": _w("nexthdr hdrlength type seg-left"),
    "rt0": _w("addr"),
    "rt2": _w("addr"),
    "srh": _w("last-entry flags tag sid seg-left"),
    "frag": _w("nexthdr reserved frag-off reserved2 more-fragments id"),
    "dst": _w("nexthdr hdrlength"),
    "mh": _w("nexthdr hdrlength type reserved checksum"),
}
META_KEYS = _w(
    "length protocol priority mark iif iifname iiftype oif oifname oiftype skuid skgid nftrace "
    "rtclassid ibriport obriport ibrname obrname pkttype cpu iifgroup oifgroup cgroup random "
    "secpath ipsec nfproto l4proto bri_iifpvid bri_iifvproto ibrpvid ibrvproto time day hour "
    "secmark sdif sdifname iifkind oifkind"
)
# Meta keys usable without ``meta`` (nft grammar: meta_key_unqualified).  Checked on
# nft 1.0.6 with ``KEY 1`` in a netdev chain: these are meta keys; ``random`` and
# ``priority`` are syntax errors; ``length``, ``protocol``, ``l4proto``, ``sdif``... parse
# as plain symbols ("No symbol type information" in evaluation).
META_UNQUALIFIED = _w(
    "mark iif iifname iiftype oif oifname oiftype skuid skgid nftrace rtclassid ibriport "
    "obriport ibrname obrname pkttype cpu iifgroup oifgroup cgroup ipsec time day hour"
)
CT_KEYS = _w(
    "state direction status mark expiration helper l3proto protocol saddr daddr proto-src "
    "proto-dst label bytes packets avgpkt zone event secmark id count"
)
# Keys valid after ``ct original|reply`` (ct_key_dir and the optional ones).
CT_DIR_KEYS = _w("saddr daddr l3proto protocol proto-src proto-dst bytes packets avgpkt zone ip ip6")
RT_KEYS = _w("classid nexthop mtu ipsec")
TCP_OPTIONS = _w(
    "eol nop maxseg mss window wscale sack-perm sack-permitted sack sack0 sack1 sack2 sack3 "
    "timestamp fastopen md5sig mptcp"
)
TCP_OPTION_FIELDS = _w("kind length size count left right tsval tsecr value subtype")
IP_OPTIONS = _w("lsrr rr ssrr ra")
IP_OPTION_FIELDS = _w("type length ptr addr value")
SCTP_CHUNKS = _w(
    "data init init-ack sack heartbeat heartbeat-ack abort shutdown shutdown-ack error "
    "cookie-echo cookie-ack ecne cwr shutdown-complete asconf-ack forward-tsn asconf"
)
SCTP_CHUNK_FIELDS = _w(
    "type flags length tsn stream ssn ppid init-tag a-rwnd num-outbound-streams "
    "num-inbound-streams initial-tsn cum-tsn-ack num-gap-ack-blocks num-dup-tsns lowest-tsn "
    "seqno new-cum-tsn"
)
FIB_FLAGS = _w("saddr daddr mark iif oif")
FIB_RESULTS = _w("oif oifname type")
SOCKET_KEYS = _w("transparent mark wildcard cgroupv2")
IPSEC_KEYS = _w("reqid spi saddr daddr")
FAMILIES = _w("ip ip6 inet arp bridge netdev")
OSF_KEYS = _w("name version")

# Fields per TCP option (nft tcpopt.c templates); an option not listed takes every field.
TCP_OPTION_FIELDS_OF = {
    "eol": _w("kind"), "nop": _w("kind"), "maxseg": _w("kind length size"), "mss": _w("kind length size"),
    "window": _w("kind length count"), "wscale": _w("kind length count"),
    "sack-perm": _w("kind length"), "sack-permitted": _w("kind length"),
    "sack": _w("kind length left right"), "sack0": _w("kind length left right"),
    "sack1": _w("kind length left right"), "sack2": _w("kind length left right"),
    "sack3": _w("kind length left right"), "timestamp": _w("kind length tsval tsecr"),
}
# nft's wording for an unknown meta key, in its order (meta.c meta_templates).
META_KEYS_MSG = (
    "length, protocol, priority, mark, iif, oif, iifname, oifname, iiftype, oiftype, skuid, "
    "skgid, nftrace, rtclassid, secmark, nfproto, l4proto, ibrname, obrname, pkttype, cpu, "
    "iifgroup, oifgroup, cgroup, random, ipsec, iifkind, oifkind, ibrpvid, ibrvproto, time, "
    "day, hour, sdif, sdifname"
)
