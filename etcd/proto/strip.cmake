# polylock etcd kind — copies one of etcd's .proto files (golang-etcd-server-dev,
# /usr/share/gocode/src/go.etcd.io/etcd/...) without what only Go and etcd's
# JSON gateway use: the gogoproto options and imports (code generation hints
# for Go) and the google.api.http annotations (the gateway's URL table). The
# messages, fields and services, and so the wire format and the method
# names ("/etcdserverpb.KV/Txn", ...), are left as they are.
#   cmake -DIN=path/to/rpc.proto -DOUT=path/to/copy.proto -P strip.cmake
file(READ "${IN}" text)
string(REGEX REPLACE "import \"gogoproto/gogo.proto\";" "" text "${text}")
string(REGEX REPLACE "import \"google/api/annotations.proto\";" "" text "${text}")
string(REGEX REPLACE "option \\(gogoproto\\.[a-z_]+\\) = [a-z]+;" "" text "${text}")
string(REGEX REPLACE "\\[\\(gogoproto\\.[a-z_]+\\) = [^]]*\\]" "" text "${text}")
# (one level of nested braces: additional_bindings { ... })
string(REGEX REPLACE "option \\(google\\.api\\.http\\) = {[^{}]*({[^{}]*}[^{}]*)*};" "" text "${text}")
if(text MATCHES "gogoproto|google\\.api")
  message(FATAL_ERROR "polylock: ${IN} uses an option strip.cmake does not know")
endif()
file(WRITE "${OUT}.new" "${text}")
file(COPY_FILE "${OUT}.new" "${OUT}" ONLY_IF_DIFFERENT)
file(REMOVE "${OUT}.new")
