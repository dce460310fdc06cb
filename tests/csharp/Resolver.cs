using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace PolyLock.Tests;

// Where the tests' native code comes from, set before any of it is loaded:
// the sharing library and the dying holder by the paths CTest gives, and --
// for the poisoning run (csharp.xunit.poison) -- a test-only libpolylock in
// place of the package's copy.
internal static class Resolver
{
    internal static string? PoisonLibrary => Environment.GetEnvironmentVariable("POLYLOCK_CSHARP_NATIVE");

    internal static string Required(string variable) =>
        Environment.GetEnvironmentVariable(variable) ??
        throw new InvalidOperationException($"{variable} is not set: run the C# tests through CTest (csharp.xunit)");

    [ModuleInitializer]
    internal static void Install()
    {
        if (PoisonLibrary is string poison)
        {
            NativeLibrary.SetDllImportResolver(typeof(PolyLock.Lock).Assembly,
                (name, _, _) => name == "polylock" ? NativeLibrary.Load(poison) : IntPtr.Zero);
        }
        NativeLibrary.SetDllImportResolver(Assembly.GetExecutingAssembly(),
            (name, _, _) => name == Sharing.Library ? NativeLibrary.Load(Required("POLYLOCK_CSHARP_SHARING")) : IntPtr.Zero);
    }
}
