"""The public surface of pkttables.packet is pinned: changing it is a decision."""

import pkttables.packet as pkg
from pkttables.packet import checksum


def test_packet_all():
    assert sorted(pkg.__all__) == sorted(
        ["Packet", "LinkType", "ParseFlag", "NFProto", "PacketType", "EtherType", "IPProto"])
    for name in pkg.__all__:
        assert getattr(pkg, name) is not None


def test_enum_values_are_the_kernels():
    assert (pkg.LinkType.ETHERNET, pkg.LinkType.RAW, pkg.LinkType.LINUX_SLL, pkg.LinkType.IPV4,
            pkg.LinkType.IPV6, pkg.LinkType.LINUX_SLL2) == (1, 101, 113, 228, 229, 276)
    assert (pkg.NFProto.UNSPEC, pkg.NFProto.IPV4, pkg.NFProto.ARP, pkg.NFProto.IPV6) == (0, 2, 3, 10)
    assert [int(t) for t in pkg.PacketType][:5] == [0, 1, 2, 3, 4]


def test_checksum_all():
    for name in checksum.__all__:
        assert hasattr(checksum, name)
    assert checksum.CSUM_MANGLED_0 == 0xFFFF


def test_packet_slots_cover_the_documented_attributes():
    documented = {"buf", "link", "mac_off", "mac_len", "ethertype", "vlans", "nh_off", "nfproto",
                  "l4proto", "th_off", "fragoff", "is_fragment", "ip6_exthdrs", "l3_len", "iif",
                  "oif", "mark", "priority", "nftrace", "pkt_type", "ct", "ctinfo", "timestamp"}
    assert documented <= set(pkg.Packet.__slots__)
    p = pkg.Packet(b"")
    for name in documented | {"flags", "has_l4proto", "has_transport", "inner_nh_off"}:
        getattr(p, name)
