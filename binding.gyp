{
  "targets": [
    {
      "target_name": "weft_dp",
      "sources": [
        "native/weft_dp.c",
        "native/args.c",
        "native/tap.c",
        "native/gso.c",
        "native/tap_gro.c",
        "native/udp.c",
        "native/udp_gro.c",
        "native/aead.c",
        "native/poll.c",
        "native/netlink.c"
      ],
      "defines": ["_GNU_SOURCE"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Wshadow", "-fvisibility=hidden"],
      "cflags_c": ["-std=gnu11"],
      "include_dirs": ["<(node_root_dir)/include/node"]
    },
    {
      "target_name": "weft-net",
      "type": "executable",
      "sources": ["native/cni_front.c", "native/cni_json.c"],
      "defines": ["_GNU_SOURCE"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Wshadow"],
      "cflags_c": ["-std=gnu11"]
    }
  ]
}
