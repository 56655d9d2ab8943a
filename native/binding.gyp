{
  "targets": [
    {
      "target_name": "zeroproxy_front",
      "sources": [
        "src/addon.c",
        "src/bytes.c",
        "src/conn.c",
        "src/events.c",
        "src/parse.c",
        "src/write.c",
        "llhttp/llhttp.c",
        "llhttp/api.c",
        "llhttp/http.c"
      ],
      "include_dirs": ["llhttp"],
      "defines": ["NAPI_VERSION=8"],
      "cflags_c": ["-std=c11", "-D_GNU_SOURCE", "-Wall", "-Wextra", "-O2", "-fvisibility=hidden"],
      "ldflags": ["-Wl,-Bsymbolic"],
      "conditions": [
        ["OS=='mac'", { "xcode_settings": { "OTHER_CFLAGS": ["-std=c11", "-Wall", "-Wextra"] } }]
      ]
    }
  ]
}
