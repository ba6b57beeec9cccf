/*
 * weft data-plane addon: declarations shared by udp.c and udp_gro.c (not part of the JS API).
 */
#ifndef WEFT_UDP_INTERNAL_H
#define WEFT_UDP_INTERNAL_H

#include <netinet/in.h>
#include <stdint.h>
#include <sys/socket.h>

/* One socket address wide enough for either family. */
typedef union {
  struct sockaddr sa;
  struct sockaddr_in v4;
  struct sockaddr_in6 v6;
} weft_sockaddr;

/* Errors after which the socket cannot be used at all. */
int weft_sock_is_dead(int err);
/* Store the source of a received datagram in addrs[0..2); returns 0 when it is not an IPv4
 * peer (addrs then holds 0 and the port). */
int weft_store_source(const weft_sockaddr *sa, uint32_t *addrs);

#endif /* WEFT_UDP_INTERNAL_H */
