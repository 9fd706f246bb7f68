// Package filter compiles capture filters written in tcpdump's pcap-filter(7)
// syntax to classic BPF, so one filter can be attached to a live AF_PACKET
// socket (SO_ATTACH_FILTER) and also run in-process on frames read from
// capture files, with the verdicts tcpdump gives.
//
// Supported link types: Ethernet (1), Linux cooked SLL (113) and SLL2 (276),
// raw IP (12, 14, 101), raw IPv4 (228), raw IPv6 (229), BSD loopback (0, 108).
//
// Supported grammar:
//   - host, net N/len, net N mask M, net N (classful), port, portrange A-B,
//     with src, dst, src or dst, src and dst;
//   - protocol qualifiers ip, ip6, arp, rarp, tcp, udp, sctp, icmp, icmp6,
//     igmp, ether (ether host/src/dst MAC, ether proto N);
//   - proto N, ip proto N, ip6 proto N (names such as tcp allowed, with or
//     without a backslash);
//   - vlan [ID], shifting later offsets by 4 like libpcap (nested vlan works);
//   - less N, greater N;
//   - comparisons of arithmetic on proto[off:size] (ether, ip, ip6, arp,
//     rarp, tcp, udp, sctp, icmp, igmp, icmp6) and len, with the named
//     constants tcpflags, tcp-syn, icmptype, icmp-echo and the like;
//   - and/&&, or/||, not/!, parentheses, and the qualifier carry-over of
//     "host a and b" and "port 80 or 443".
//
// As in libpcap, host with an IPv4 address also matches ARP and RARP, port
// applies to TCP, UDP and SCTP over IPv4 (first fragment only) and IPv6
// (no extension-header walk), and tcp[...] style loads are IPv4-only.
// Host and service names are not resolved except a small built-in table of
// port names; gateway, broadcast, multicast, mpls, pppoe, geneve, inbound/
// outbound and the 802.11 keywords are not supported.
//
// On a live AF_PACKET socket the kernel strips the outer VLAN tag before the
// filter runs, so "vlan" filters match only tagged frames read from files.
package filter
