// Writes the API reference (docs/api/*.md) from the public surface of the AnatomyR1 libraries and their XML
// documentation, and fails when a public type or member has no documentation.
//
//   dotnet run --project tools/ApiReference               regenerate docs/api
//   dotnet run --project tools/ApiReference -- --check    exit 1 when docs/api is not what the code generates
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Text;
using System.Xml.Linq;
using ApiReference;

bool check = args.Contains("--check");
string output = args.Where(a => !a.StartsWith("--", StringComparison.Ordinal)).FirstOrDefault() ?? Path.Combine(RepositoryRoot(), "docs", "api");

var assemblies = new[]
{
    (Package: "AnatomyR1", Assembly: typeof(AnatomyR1.Data.VqaSample).Assembly),
    (Package: "AnatomyR1.TorchSharp", Assembly: typeof(AnatomyR1.TorchSharp.Policy.IVisionLanguagePolicy).Assembly),
    (Package: "AnatomyR1.Extensions.AI", Assembly: typeof(AnatomyR1.Extensions.AI.AnatomyR1ChatClient).Assembly),
};

var docs = new Dictionary<string, XElement>(StringComparer.Ordinal);
foreach (var (_, assembly) in assemblies)
{
    string xml = Path.ChangeExtension(assembly.Location, ".xml");
    if (!File.Exists(xml))
    {
        Console.Error.WriteLine($"{xml} is missing: the project must set GenerateDocumentationFile.");
        return 2;
    }

    foreach (var member in XDocument.Load(xml).Descendants("member"))
    {
        docs[(string)member.Attribute("name")!] = member;
    }
}

var missing = new List<string>();
var pages = new SortedDictionary<string, string>(StringComparer.Ordinal);
var index = new StringBuilder();
index.AppendLine("# API reference").AppendLine();
index.AppendLine("Generated from the public types of the three libraries and their XML documentation by `tools/ApiReference`");
index.AppendLine("(`dotnet run --project tools/ApiReference`; CI fails when this folder is out of date). Every public type and member");
index.AppendLine("is documented: the build treats a missing comment as an error. See [../architecture.md](../architecture.md) for how the");
index.AppendLine("parts fit together.").AppendLine();

var allTypes = assemblies.SelectMany(a => a.Assembly.GetExportedTypes().Where(t => !t.IsDefined(typeof(CompilerGeneratedAttribute))).Select(t => (a.Package, Type: t))).ToList();
string PackageOf(Type t) => allTypes.First(x => x.Type == t).Package;
index.AppendLine("| Namespace | Package | Types |").AppendLine("| --- | --- | --- |");
foreach (var group in allTypes.GroupBy(t => t.Type.Namespace ?? "(global)").OrderBy(g => g.Key, StringComparer.Ordinal))
{
    string file = group.Key + ".md";
    var packages = group.Select(t => t.Package).Distinct().ToList();
    var page = new StringBuilder();
    page.AppendLine($"# {group.Key}").AppendLine();
    page.AppendLine($"Package{(packages.Count > 1 ? "s" : string.Empty)} {string.Join(" and ", packages.Select(p => $"`{p}`"))}. [All namespaces](README.md).").AppendLine();
    var sorted = group.Select(t => t.Type).OrderBy(t => Display.TypeTitle(t), StringComparer.Ordinal).ToList();
    foreach (var type in sorted)
    {
        WriteType(page, type, packages.Count > 1 ? PackageOf(type) : null);
    }

    pages[file] = page.ToString();
    index.AppendLine($"| [{group.Key}]({file}) | {string.Join(", ", packages)} | {string.Join(", ", sorted.Select(t => $"`{Display.TypeTitle(t)}`"))} |");
}

index.AppendLine();
pages["README.md"] = index.ToString();

if (missing.Count > 0)
{
    Console.Error.WriteLine($"{missing.Count} public types or members have no documentation:");
    foreach (string m in missing)
    {
        Console.Error.WriteLine("  " + m);
    }

    return 1;
}

if (check)
{
    var stale = pages.Where(p => !File.Exists(Path.Combine(output, p.Key)) || File.ReadAllText(Path.Combine(output, p.Key)) != p.Value).Select(p => p.Key)
        .Concat(Directory.Exists(output) ? Directory.GetFiles(output, "*.md").Select(Path.GetFileName).Where(f => !pages.ContainsKey(f!)).Select(f => f + " (no longer generated)") : Array.Empty<string>())
        .ToList();
    if (stale.Count > 0)
    {
        Console.Error.WriteLine($"docs/api is out of date ({string.Join(", ", stale)}); run: dotnet run --project tools/ApiReference");
        return 1;
    }

    Console.WriteLine($"docs/api is up to date ({pages.Count} pages).");
    return 0;
}

Directory.CreateDirectory(output);
foreach (string old in Directory.GetFiles(output, "*.md"))
{
    if (!pages.ContainsKey(Path.GetFileName(old)))
    {
        File.Delete(old);
    }
}

foreach (var (file, text) in pages)
{
    File.WriteAllText(Path.Combine(output, file), text);
}

Console.WriteLine($"wrote {pages.Count} pages to {output}");
return 0;

void WriteType(StringBuilder page, Type type, string? package)
{
    string id = DocumentationIds.Of(type);
    page.AppendLine($"## {Display.TypeTitle(type)}").AppendLine();
    if (package is not null)
    {
        page.AppendLine($"In package `{package}`.").AppendLine();
    }

    page.AppendLine($"`{Display.Declaration(type)}`").AppendLine();
    page.AppendLine(Summary(id, type.FullName!, null)).AppendLine();
    if (Remarks(id) is { } remarks)
    {
        page.AppendLine(remarks).AppendLine();
    }

    if (typeof(Delegate).IsAssignableFrom(type))
    {
        return;
    }

    var members = Members(type).ToList();
    if (members.Count == 0)
    {
        return;
    }

    page.AppendLine("| Member | Description |").AppendLine("| --- | --- |");
    foreach (var member in members)
    {
        string memberId = DocumentationIds.Of(member);
        page.AppendLine($"| `{Display.Signature(member).Replace("|", "\\|", StringComparison.Ordinal)}` | {Summary(memberId, $"{type.FullName}.{member.Name}", member).Replace("|", "\\|", StringComparison.Ordinal)} |");
    }

    page.AppendLine();
}

IEnumerable<MemberInfo> Members(Type type)
{
    const BindingFlags flags = BindingFlags.Public | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;
    if (type.IsEnum)
    {
        return type.GetFields(BindingFlags.Public | BindingFlags.Static).OrderBy(f => Convert.ToInt64(f.GetRawConstantValue(), System.Globalization.CultureInfo.InvariantCulture));
    }

    var members = type.GetMembers(flags).Where(m => m switch
    {
        Type => false,
        MethodInfo mi => (!mi.IsSpecialName || mi.Name.StartsWith("op_", StringComparison.Ordinal)) && !IsGenerated(mi),
        FieldInfo fi => !fi.IsSpecialName,
        PropertyInfo pi => !IsGenerated(pi),
        _ => true,
    });
    return members.OrderBy(m => m is ConstructorInfo ? 0 : m is FieldInfo ? 1 : m is PropertyInfo ? 2 : m is EventInfo ? 3 : 4)
        .ThenBy(m => m.Name, StringComparer.Ordinal).ThenBy(m => Display.Signature(m), StringComparer.Ordinal);
}

// Members the compiler writes for records (Equals, GetHashCode, ToString, Deconstruct, <Clone>$, EqualityContract, …).
bool IsGenerated(MemberInfo member) =>
    member.Name.Contains('<', StringComparison.Ordinal) || member.IsDefined(typeof(CompilerGeneratedAttribute))
    || (member is MethodInfo m && m.DeclaringType!.GetMethod("<Clone>$") is not null
        && m.Name is "Equals" or "GetHashCode" or "ToString" or "PrintMembers" or "op_Equality" or "op_Inequality" or "Deconstruct"
        && !HasOwnDocs(m));

bool HasOwnDocs(MemberInfo member) => docs.ContainsKey(DocumentationIds.Of(member));

string Summary(string id, string name, MemberInfo? member)
{
    if (!docs.TryGetValue(id, out var element))
    {
        // The compiler's implicit parameterless constructor has no comment to carry.
        if (member is ConstructorInfo { IsStatic: false } ctor && ctor.GetParameters().Length == 0)
        {
            return "Creates an instance; every property starts at its documented default.";
        }

        missing.Add($"{name} ({id})");
        return string.Empty;
    }

    if (element.Element("inheritdoc") is { } inherit)
    {
        string? cref = (string?)inherit.Attribute("cref");
        string? inherited = cref ?? (member is null ? null : InheritedId(member));
        if (inherited is not null && docs.TryGetValue(inherited, out var baseDoc) && baseDoc.Element("summary") is { } baseSummary)
        {
            return Text.Render(baseSummary);
        }

        return inherited is null ? "Inherited documentation." : $"Implements `{Text.ShortName(inherited)}`.";
    }

    var summary = element.Element("summary");
    var returns = element.Element("returns");
    string text = summary is null ? string.Empty : Text.Render(summary);
    if (member is MethodInfo { ReturnType: var rt } && rt != typeof(void) && returns is not null && Text.Render(returns) is { Length: > 0 } r)
    {
        text += $" Returns: {r}";
    }

    var exceptions = element.Elements("exception").Select(e => $"`{Text.ShortName((string)e.Attribute("cref")!)}`").Distinct().ToList();
    if (exceptions.Count > 0)
    {
        text += $" Throws {string.Join(", ", exceptions)}.";
    }

    if (text.Length == 0)
    {
        missing.Add($"{name} ({id}): empty summary");
    }

    return text;
}

string? Remarks(string id) => docs.TryGetValue(id, out var e) && e.Element("remarks") is { } r ? Text.Render(r) : null;

static string? InheritedId(MemberInfo member)
{
    if (member is MethodInfo method)
    {
        var baseDefinition = method.GetBaseDefinition();
        if (baseDefinition.DeclaringType != method.DeclaringType)
        {
            return DocumentationIds.Of(baseDefinition.DeclaringType!.IsGenericType ? baseDefinition.DeclaringType.GetGenericTypeDefinition().GetMethods().FirstOrDefault(m => m.Name == method.Name) ?? baseDefinition : baseDefinition);
        }

        foreach (var face in method.DeclaringType!.GetInterfaces())
        {
            var map = method.DeclaringType.GetInterfaceMap(face);
            int at = Array.IndexOf(map.TargetMethods, method);
            if (at >= 0)
            {
                var target = map.InterfaceMethods[at];
                var definition = face.IsGenericType ? face.GetGenericTypeDefinition().GetMethods().First(m => m.Name == target.Name && m.GetParameters().Length == target.GetParameters().Length) : target;
                return DocumentationIds.Of(definition);
            }
        }
    }

    if (member is PropertyInfo property && property.GetMethod is { } getter && InheritedId(getter) is { } getterId && getterId.StartsWith("M:", StringComparison.Ordinal))
    {
        int dot = getterId.IndexOf(".get_", StringComparison.Ordinal);
        return dot < 0 ? null : "P:" + getterId[2..dot] + "." + getterId[(dot + 5)..];
    }

    return null;
}

static string RepositoryRoot()
{
    for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
    {
        if (File.Exists(Path.Combine(dir.FullName, "AnatomyR1.sln")))
        {
            return dir.FullName;
        }
    }

    throw new DirectoryNotFoundException("AnatomyR1.sln was not found above the tool's folder; pass the output folder.");
}
