// polylock's C# quick start: four threads count to 400,000 under one lock.
using PolyLock;

using var counterLock = new PolyLock.Lock();
long counter = 0;

var threads = Enumerable.Range(0, 4).Select(_ => new Thread(() =>
{
    for (int i = 0; i < 100_000; i++)
    {
        using (counterLock.EnterScope())
        {
            counter++;
        }
    }
})).ToList();
threads.ForEach(t => t.Start());
threads.ForEach(t => t.Join());
Console.WriteLine($"counter = {counter} (expected 400000)");

// Not owned: another thread may exit a lock this thread entered.
counterLock.Enter();
var other = new Thread(counterLock.Exit);
other.Start();
other.Join();
Console.WriteLine($"exited by another thread; locked now: {counterLock.IsLocked}");

// Timeouts and cancellation.
counterLock.Enter();
Console.WriteLine($"TryEnter(50 ms) on a held lock: {counterLock.TryEnter(TimeSpan.FromMilliseconds(50))}");
using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(50));
try
{
    counterLock.Enter(cancel.Token);
}
catch (OperationCanceledException)
{
    Console.WriteLine("Enter(token) gave up when the token was cancelled");
}
counterLock.Exit();
Console.WriteLine($"polylock {PolyLock.Lock.NativeVersion}");
return counter == 400_000 ? 0 : 1;
