{
  "targets": [
    {
      "target_name": "tfpipe_jpeg",
      "sources": ["jpeg.c"],
      "libraries": ["-ljpeg", "-lm", "-lpthread"],
      "cflags": ["-O3", "-std=c11", "-Wall", "-Wextra", "-ffp-contract=off"],
      "defines": ["NAPI_VERSION=8"]
    }
  ]
}
