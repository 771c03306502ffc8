using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;

using AnatomyR1.IO;

namespace AnatomyR1.Persistence;

/// <summary>
/// Saves an <see cref="IPersistentComponent"/> into a folder together with <c>component.json</c> (its type name and
/// format version), and loads it back through the type's static <c>LoadComponent(ComponentLoadContext)</c>.
/// </summary>
public static class ComponentStore
{
    /// <summary>Name of the file that names a saved component's type.</summary>
    public const string ManifestFile = "component.json";

    private const string LoadMethod = "LoadComponent";

    /// <summary>Saves a component into <paramref name="folder"/> (created; it must not hold files yet).</summary>
    /// <param name="component">The component.</param>
    /// <param name="folder">The folder.</param>
    /// <exception cref="ArgumentException">The component's type has no static <c>LoadComponent(ComponentLoadContext)</c> method.</exception>
    public static void Save(IPersistentComponent component, string folder)
    {
        ArgumentNullException.ThrowIfNull(component);
        ArgumentException.ThrowIfNullOrWhiteSpace(folder);
        var type = component.GetType();
        if (FindLoader(type) is null)
        {
            throw new ArgumentException($"{type.FullName} cannot be saved: it has no public static {LoadMethod}({nameof(ComponentLoadContext)}) method to load it back.", nameof(component));
        }

        if (Directory.Exists(folder) && Directory.EnumerateFileSystemEntries(folder).Any())
        {
            throw new IOException($"'{folder}' is not empty; a component is saved into an empty folder.");
        }

        // Written beside the folder and renamed into place: a component that fails to save leaves nothing behind.
        AtomicFile.WriteFolder(folder, staging =>
        {
            var manifest = new JsonObject
            {
                ["type"] = $"{type.FullName}, {type.Assembly.GetName().Name}",
                ["format_version"] = 1,
            };
            File.WriteAllText(Path.Combine(staging, ManifestFile), manifest.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
            component.SaveComponent(staging);
        });
    }

    /// <summary>Loads a component saved by <see cref="Save"/>.</summary>
    /// <typeparam name="T">The type expected (an interface or a base type is fine).</typeparam>
    /// <param name="context">The folder, ML.NET context and device.</param>
    /// <returns>The component.</returns>
    /// <exception cref="InvalidDataException">The folder holds no component, names an unknown type, or a different kind of component; the message names the folder.</exception>
    public static T Load<T>(ComponentLoadContext context)
        where T : class
    {
        ArgumentNullException.ThrowIfNull(context);
        string path = Path.Combine(context.Folder, ManifestFile);
        if (!File.Exists(path))
        {
            throw new InvalidDataException($"'{context.Folder}' holds no saved component: {ManifestFile} is missing.");
        }

        string typeName;
        try
        {
            typeName = (string?)JsonNode.Parse(File.ReadAllText(path))?["type"] ?? throw new InvalidDataException($"{path}: field 'type' is missing.");
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException($"{path}: not valid JSON ({ex.Message}).", ex);
        }

        var type = Type.GetType(typeName, throwOnError: false)
            ?? throw new InvalidDataException($"{path}: field 'type' names '{typeName}', which cannot be found; reference the assembly that defines it.");
        if (!typeof(IPersistentComponent).IsAssignableFrom(type) || !typeof(T).IsAssignableFrom(type))
        {
            throw new InvalidDataException($"{path}: field 'type' names {type.FullName}, which is not a saved {typeof(T).Name}.");
        }

        var loader = FindLoader(type) ?? throw new InvalidDataException($"{path}: {type.FullName} has no public static {LoadMethod}({nameof(ComponentLoadContext)}) method.");
        try
        {
            return (T)(loader.Invoke(null, new object[] { context })
                ?? throw new InvalidDataException($"{path}: {type.FullName}.{LoadMethod} returned null."));
        }
        catch (TargetInvocationException ex) when (ex.InnerException is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(ex.InnerException).Throw();
            throw;
        }
    }

    private static MethodInfo? FindLoader(Type type) =>
        type.GetMethod(LoadMethod, BindingFlags.Public | BindingFlags.Static, new[] { typeof(ComponentLoadContext) }) is { } m && type.IsAssignableFrom(m.ReturnType) ? m : null;
}
