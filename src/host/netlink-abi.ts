/**
 * Linux netlink / rtnetlink ABI numbers weft uses (from the kernel's uapi headers:
 * linux/netlink.h, linux/rtnetlink.h, linux/if_link.h, linux/if_addr.h, linux/neighbour.h,
 * linux/if_bridge.h). Kernel ABI, not weft protocol: they never change. Pure data.
 */

export const AF_UNSPEC = 0;
export const AF_INET = 2;
export const AF_BRIDGE = 7;
export const AF_INET6 = 10;
export const AF_NETLINK = 16;
export const SOCK_DGRAM = 2;
export const SOCK_RAW = 3;
export const NETLINK_ROUTE = 0;
/** Netfilter netlink (nfnetlink: ctnetlink, NFLOG, nf_tables; linux/netfilter/nfnetlink.h). */
export const NETLINK_NETFILTER = 12;

/** nlmsghdr bytes; attribute header bytes; alignment. */
export const NLMSG_HDRLEN = 16;
export const NLA_HDRLEN = 4;
export const NLA_ALIGNTO = 4;
export const NLA_F_NESTED = 0x8000;
export const NLA_TYPE_MASK = 0x3fff;

export const NLMSG_NOOP = 1;
export const NLMSG_ERROR = 2;
export const NLMSG_DONE = 3;
export const NLMSG_OVERRUN = 4;

export const NLM_F_REQUEST = 0x1;
export const NLM_F_MULTI = 0x2;
export const NLM_F_ACK = 0x4;
export const NLM_F_DUMP = 0x300;
export const NLM_F_REPLACE = 0x100;
export const NLM_F_EXCL = 0x200;
export const NLM_F_CREATE = 0x400;
export const NLM_F_APPEND = 0x800;
/** In an NLMSG_ERROR reply: extended-ack attributes follow. */
export const NLM_F_ACK_TLVS = 0x200;
export const NLM_F_CAPPED = 0x100;
export const NLMSGERR_ATTR_MSG = 1;

export const RTM_NEWLINK = 16;
export const RTM_DELLINK = 17;
export const RTM_GETLINK = 18;
export const RTM_SETLINK = 19;
export const RTM_NEWADDR = 20;
export const RTM_DELADDR = 21;
export const RTM_GETADDR = 22;
export const RTM_NEWROUTE = 24;
export const RTM_DELROUTE = 25;
export const RTM_GETROUTE = 26;
export const RTM_NEWNEIGH = 28;
export const RTM_DELNEIGH = 29;
export const RTM_GETNEIGH = 30;

/** Multicast groups (numbers, for NETLINK_ADD_MEMBERSHIP). */
export const RTNLGRP_LINK = 1;
export const RTNLGRP_NEIGH = 3;
export const RTNLGRP_IPV4_IFADDR = 5;
export const RTNLGRP_IPV6_IFADDR = 9;

export const IFF_UP = 0x1;

export const IFLA_ADDRESS = 1;
export const IFLA_IFNAME = 3;
export const IFLA_MTU = 4;
export const IFLA_LINK = 5;
export const IFLA_MASTER = 10;
export const IFLA_TXQLEN = 13;
export const IFLA_OPERSTATE = 16;
export const IFLA_LINKINFO = 18;
export const IFLA_NET_NS_FD = 28;
export const IFLA_IFALIAS = 20;
export const IFLA_AF_SPEC = 26;
export const IFLA_PROTINFO = 12;
export const IFLA_INFO_KIND = 1;
export const IFLA_INFO_DATA = 2;
export const IFLA_INFO_SLAVE_KIND = 4;
export const VETH_INFO_PEER = 1;
export const IFLA_INET_CONF = 1;
/** IPV4_DEVCONF_* index of arp_notify / rp_filter in IFLA_INET_CONF. */
export const IPV4_DEVCONF_RP_FILTER = 8;
export const IPV4_DEVCONF_ARP_NOTIFY = 22;
export const IFLA_INET6_ADDR_GEN_MODE = 8;
export const IN6_ADDR_GEN_MODE_NONE = 1;

export const IFLA_VXLAN_ID = 1;
export const IFLA_VXLAN_LINK = 3;
export const IFLA_VXLAN_LOCAL = 4;
export const IFLA_VXLAN_TTL = 5;
export const IFLA_VXLAN_LEARNING = 7;
export const IFLA_VXLAN_PORT = 15;
export const IFLA_VXLAN_LOCAL6 = 17;
export const IFLA_VXLAN_UDP_CSUM = 18;

/** Bridge port attributes (IFLA_PROTINFO | NLA_F_NESTED with AF_BRIDGE RTM_SETLINK). */
/** Bridge options (IFLA_INFO_DATA of kind "bridge"): br_netfilter for this bridge's IPv4 / IPv6 frames (u8). */
export const IFLA_BR_NF_CALL_IPTABLES = 36;
export const IFLA_BR_NF_CALL_IP6TABLES = 37;
export const IFLA_BRPORT_LEARNING = 8;
export const IFLA_BRPORT_ISOLATED = 33;

export const IFA_ADDRESS = 1;
export const IFA_LOCAL = 2;
export const RT_SCOPE_UNIVERSE = 0;
export const RT_SCOPE_LINK = 253;
export const RT_SCOPE_HOST = 254;
export const RT_SCOPE_NOWHERE = 255;

export const RTA_DST = 1;
export const RTA_OIF = 4;
export const RTA_GATEWAY = 5;
export const RTA_PRIORITY = 6;
export const RTA_PREFSRC = 7;
export const RTA_TABLE = 15;
export const RT_TABLE_MAIN = 254;
export const RTN_UNICAST = 1;
export const RTPROT_BOOT = 3;

export const NDA_DST = 1;
export const NDA_LLADDR = 2;
export const NDA_MASTER = 9;
export const NDA_VNI = 7;
export const NDA_PORT = 6;
export const NUD_NOARP = 0x40;
export const NUD_PERMANENT = 0x80;
export const NTF_SELF = 0x02;
export const NTF_MASTER = 0x04;
