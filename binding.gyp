{
  "targets": [
    {
      "target_name": "weft_dp",
      "sources": ["native/weft_dp.c"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-fvisibility=hidden"],
      "include_dirs": ["<(node_root_dir)/include/node"]
    }
  ]
}
