"""polylock polyglot hammer -- the counter kept in etcd, laid out as store.md
says: one key per field under a prefix, read and written through etcd's v3
JSON gateway (/v3/kv/range and /v3/kv/put; keys and values in base64), with
urllib. Shared by driver.py and the Python worker, worker.py."""
import base64
import json
import urllib.request


class EtcdStore:
    def __init__(self, endpoint, prefix):
        self.url = "http://" + endpoint
        self.prefix = prefix
        self.opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def call(self, path, request):
        """POSTs `request` (a dict) as JSON to the gateway's `path`; its JSON answer."""
        data = json.dumps(request).encode()
        with self.opener.open(urllib.request.Request(self.url + path, data=data), timeout=10) as r:
            return json.loads(r.read())

    def key(self, field):
        return base64.b64encode(("%s/%s" % (self.prefix, field)).encode()).decode()

    def get(self, field):
        """The field's value; 0 when it was never written."""
        answer = self.call("/v3/kv/range", {"key": self.key(field)})
        if not answer.get("kvs"):
            return 0
        return int(base64.b64decode(answer["kvs"][0].get("value", "")) or b"0")

    def put(self, field, value):
        self.call("/v3/kv/put", {"key": self.key(field),
                                 "value": base64.b64encode(str(value).encode()).decode()})
