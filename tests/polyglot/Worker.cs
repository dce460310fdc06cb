// polylock polyglot hammer -- the C# worker (store.md says what every worker does;
// driver.py starts and checks them). The lock through PolyLock.Lock from the package:
// Open, Enter and TryEnter (AbandonedLockException), Exit, GetFencingToken. The etcd
// store through HttpClient and System.Text.Json.
using System.Text;
using System.Text.Json;
using Microsoft.Win32.SafeHandles;

internal interface IStore
{
    long Get(string field);
    void Put(string field, long value);
}

internal static class Fields
{
    public const int Size = 32;
    private const int MaxSlots = 128;
    private static readonly string[] Header =
    {
        "count", "pending", "pending_count", "pending_slot", "pending_slot_value",
        "owner_dead", "repaired", "holder", "handoff", "stop", "fence",
    };

    public static long Index(string field) =>
        field.StartsWith("slot.", StringComparison.Ordinal) ? 16 + int.Parse(field[5..])
        : field.StartsWith("dead.", StringComparison.Ordinal) ? 16 + MaxSlots + int.Parse(field[5..])
        : Array.IndexOf(Header, field);
}

internal sealed class FileStore : IStore
{
    private readonly SafeFileHandle _file;

    public FileStore(string path) =>
        _file = File.OpenHandle(path, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite);

    public long Get(string field)
    {
        var record = new byte[Fields.Size];
        int read = RandomAccess.Read(_file, record, Fields.Size * Fields.Index(field));
        string text = Encoding.ASCII.GetString(record, 0, read);
        if (read != Fields.Size || text[^1] != '\n' || !text[..^1].All(char.IsAsciiDigit))
        {
            Worker.Fail($"torn field {field}");
        }
        return long.Parse(text[..^1]);
    }

    public void Put(string field, long value) =>  // one pwrite
        RandomAccess.Write(_file, Encoding.ASCII.GetBytes(value.ToString("D31") + "\n"),
                           Fields.Size * Fields.Index(field));
}

internal sealed class EtcdStore : IStore
{
    private readonly HttpClient _client =
        new(new SocketsHttpHandler { UseProxy = false }) { Timeout = TimeSpan.FromSeconds(10) };
    private readonly string _url;
    private readonly string _prefix;

    public EtcdStore(string spec)
    {
        int slash = spec.IndexOf('/');
        _url = "http://" + spec[..slash];
        _prefix = spec[(slash + 1)..];
    }

    private string Key(string field) => Convert.ToBase64String(Encoding.UTF8.GetBytes($"{_prefix}/{field}"));

    private JsonDocument Call(string path, object request)
    {
        using var content = new StringContent(JsonSerializer.Serialize(request), Encoding.UTF8, "application/json");
        using HttpResponseMessage response = _client.PostAsync(_url + path, content).GetAwaiter().GetResult();
        string body = response.Content.ReadAsStringAsync().GetAwaiter().GetResult();
        if (!response.IsSuccessStatusCode)
        {
            Worker.Fail($"etcd answered {(int)response.StatusCode}: {body}");
        }
        return JsonDocument.Parse(body);
    }

    public long Get(string field)
    {
        using JsonDocument answer = Call("/v3/kv/range", new Dictionary<string, string> { ["key"] = Key(field) });
        if (!answer.RootElement.TryGetProperty("kvs", out JsonElement kvs) || kvs.GetArrayLength() == 0
            || !kvs[0].TryGetProperty("value", out JsonElement value))
        {
            return 0;
        }
        return long.Parse(Encoding.UTF8.GetString(Convert.FromBase64String(value.GetString()!)));
    }

    public void Put(string field, long value)
    {
        using JsonDocument answer = Call("/v3/kv/put", new Dictionary<string, string>
        {
            ["key"] = Key(field),
            ["value"] = Convert.ToBase64String(Encoding.UTF8.GetBytes(value.ToString())),
        });
    }
}

internal sealed class Worker
{
    private readonly IStore _store;
    private readonly PolyLock.Lock _lock;
    private readonly bool _etcd;
    private readonly int _slot;
    private readonly FileStream _log;
    private readonly Random _random = new();
    private int _increments, _ownerDead, _handoffs, _released;

    public static void Fail(string why)
    {
        Console.Error.WriteLine($"FAIL: C# worker {Environment.ProcessId}: {why}");
        Environment.Exit(1);
    }

    private Worker(string spec, string name, int slot, string logPath)
    {
        _etcd = spec.StartsWith("etcd:", StringComparison.Ordinal);
        _store = _etcd ? new EtcdStore(spec[5..]) : new FileStore(spec[5..]);
        _lock = PolyLock.Lock.Open(name);
        _slot = slot;
        // O_APPEND, unbuffered: each increment's byte is one write.
        _log = new FileStream(logPath, FileMode.Append, FileAccess.Write, FileShare.ReadWrite, bufferSize: 0);
        if (!_etcd)
        {
            try
            {
                _lock.GetFencingToken();
                Fail("GetFencingToken() on a named lock returned");
            }
            catch (NotSupportedException)
            {
                // a named lock of this machine has no fencing tokens
            }
        }
    }

    private void NapSometimes(bool victim)
    {
        if (victim)
        {
            Thread.Sleep(TimeSpan.FromTicks(_random.Next(10_000)));  // up to 1 ms
        }
    }

    // Takes the lock; true when its previous holder died holding it.
    private bool Take(bool timed)
    {
        try
        {
            if (!timed)
            {
                _lock.Enter();
                return false;
            }
            while (!_lock.TryEnter(1 + _random.Next(20)))
            {
            }
            return false;
        }
        catch (PolyLock.AbandonedLockException)  // held
        {
            return true;
        }
    }

    private void Enter(bool timed)
    {
        if (Take(timed))
        {
            ++_ownerDead;
            _store.Put("owner_dead", _store.Get("owner_dead") + 1);
            long holder = _store.Get("holder");
            if (holder != 0)
            {
                _store.Put($"dead.{holder - 1}", 1);
            }
            _store.Put("holder", 0);
            if (_store.Get("pending") != 0)
            {
                _store.Put("count", _store.Get("pending_count"));
                _store.Put($"slot.{_store.Get("pending_slot")}", _store.Get("pending_slot_value"));
                _store.Put("pending", 0);
                _store.Put("repaired", _store.Get("repaired") + 1);
            }
        }
        else if (_store.Get("holder") != 0)
        {
            Fail("entered without AbandonedLockException, but another holder is inside (or a dead one was not reported)");
        }
        else if (_store.Get("pending") != 0)
        {
            Fail("entered without AbandonedLockException, but a dead holder's increment was half-done");
        }
    }

    private void Increment(bool victim)
    {
        _store.Put("holder", 1 + _slot);
        NapSometimes(victim);
        if (_etcd)  // the token of this hold grows
        {
            ulong token = _lock.GetFencingToken();
            if ((long)token <= _store.Get("fence"))
            {
                Fail($"fencing token {token} did not grow");
            }
            _store.Put("fence", (long)token);
        }
        long count = _store.Get("count"), mine = _store.Get($"slot.{_slot}");
        _store.Put("pending_count", count + 1);
        _store.Put("pending_slot", _slot);
        _store.Put("pending_slot_value", mine + 1);
        _store.Put("pending", 1);
        NapSometimes(victim);
        _store.Put("count", count + 1);
        NapSometimes(victim);
        _store.Put($"slot.{_slot}", mine + 1);
        _store.Put("pending", 0);
        _store.Put("holder", 0);
        NapSometimes(victim);
        _log.WriteByte((byte)'+');
        ++_increments;
    }

    private void Hammer(int n, bool timed, int every, string releaserList)
    {
        int[] releasers = releaserList.Split(',').Where(r => r != "-").Select(int.Parse).ToArray();
        for (int i = 1; i <= n; ++i)
        {
            Enter(timed);
            Increment(false);
            if (every > 0 && releasers.Length > 0 && i % every == 0 && i < n)
            {
                _store.Put("handoff", 1 + releasers[(i / every - 1) % releasers.Length]);
                ++_handoffs;  // the lock stays held, for the releaser
            }
            else
            {
                _lock.Exit();
            }
        }
    }

    private void Victim(bool both)
    {
        for (;;)
        {
            Enter(both && _random.Next(2) == 0);
            Increment(true);
            _lock.Exit();
        }
    }

    private void Releaser()
    {
        for (;;)
        {
            if (_store.Get("handoff") == 1 + _slot)
            {
                _store.Put("handoff", 0);
                _lock.Exit();  // a hold another process took
                ++_released;
                continue;
            }
            if (_store.Get("stop") != 0)
            {
                return;
            }
            Thread.Sleep(1);
        }
    }

    public static int Main(string[] args)
    {
        if (args.Length < 5)
        {
            return 2;
        }
        var worker = new Worker(args[0], args[1], int.Parse(args[3]), args[4]);
        switch (args[2])
        {
            case "hammer" when args.Length == 9:
                worker.Hammer(int.Parse(args[5]), args[6] == "timed", int.Parse(args[7]), args[8]);
                break;
            case "victim" when args.Length == 6:
                worker.Victim(args[5] == "both");
                break;
            case "releaser":
                worker.Releaser();
                break;
            case "hold":
                worker.Enter(false);
                worker._store.Put("holder", 1 + worker._slot);
                Console.WriteLine("held");
                Console.Out.Flush();
                Thread.Sleep(Timeout.Infinite);  // until killed
                break;
            case "wait-once":
                Console.WriteLine("waiting");
                Console.Out.Flush();
                worker.Enter(false);
                worker._lock.Exit();
                break;
            default:
                return 2;
        }
        Console.WriteLine($"RESULT increments={worker._increments} ownerdead={worker._ownerDead} handoffs={worker._handoffs} released={worker._released}");
        return 0;
    }
}
