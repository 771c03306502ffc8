using System.Reflection;
using System.Text;

namespace ApiReference;

/// <summary>C#-style display of types and member signatures.</summary>
internal static class Display
{
    private static readonly Dictionary<Type, string> Keywords = new()
    {
        [typeof(void)] = "void", [typeof(bool)] = "bool", [typeof(byte)] = "byte", [typeof(sbyte)] = "sbyte", [typeof(short)] = "short",
        [typeof(ushort)] = "ushort", [typeof(int)] = "int", [typeof(uint)] = "uint", [typeof(long)] = "long", [typeof(ulong)] = "ulong",
        [typeof(float)] = "float", [typeof(double)] = "double", [typeof(decimal)] = "decimal", [typeof(char)] = "char",
        [typeof(string)] = "string", [typeof(object)] = "object",
    };

    private static readonly NullabilityInfoContext Nullability = new();

    public static string TypeTitle(Type type) => (type.IsNested ? TypeTitle(type.DeclaringType!) + "." : string.Empty) + Name(type, withOuter: false);

    public static string Declaration(Type type)
    {
        var text = new StringBuilder("public ");
        if (type.IsEnum)
        {
            text.Append("enum ");
        }
        else if (type.IsInterface)
        {
            text.Append("interface ");
        }
        else if (typeof(Delegate).IsAssignableFrom(type))
        {
            var invoke = type.GetMethod("Invoke")!;
            return $"public delegate {Name(invoke.ReturnType)} {TypeTitle(type)}({Parameters(invoke.GetParameters())})";
        }
        else if (type.IsValueType)
        {
            text.Append(IsRecord(type) ? "record struct " : "struct ");
        }
        else
        {
            text.Append(type.IsAbstract && type.IsSealed ? "static " : type.IsAbstract ? "abstract " : type.IsSealed ? "sealed " : string.Empty);
            text.Append(IsRecord(type) ? "record " : "class ");
        }

        text.Append(TypeTitle(type));
        var bases = new List<string>();
        if (type.BaseType is { } b && b != typeof(object) && b != typeof(ValueType) && b != typeof(Enum))
        {
            bases.Add(Name(b));
        }

        var inherited = type.BaseType?.GetInterfaces() ?? Array.Empty<Type>();
        bases.AddRange(type.GetInterfaces().Where(i => !inherited.Contains(i) && i.IsPublic || (i.IsNestedPublic && !inherited.Contains(i)))
            .Where(i => !(i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IEquatable<>) && IsRecord(type)))
            .Select(i => Name(i)).OrderBy(n => n, StringComparer.Ordinal));
        return bases.Count == 0 ? text.ToString() : text.Append(" : ").Append(string.Join(", ", bases)).ToString();
    }

    public static string Signature(MemberInfo member) => member switch
    {
        ConstructorInfo c => $"{Name(c.DeclaringType!, withOuter: false)}({Parameters(c.GetParameters())})",
        MethodInfo m when m.Name.StartsWith("op_", StringComparison.Ordinal) => $"{(m.IsStatic ? "static " : string.Empty)}{Name(m.ReturnType)} {m.Name}({Parameters(m.GetParameters())})",
        MethodInfo m => $"{(m.IsStatic ? "static " : string.Empty)}{Name(m.ReturnType, tupleNames: TupleNames(m.ReturnParameter.GetCustomAttribute<System.Runtime.CompilerServices.TupleElementNamesAttribute>()))}{NullableMark(m.ReturnType, () => Nullability.Create(m.ReturnParameter).ReadState)} {m.Name}{Generics(m)}({(m.IsDefined(typeof(System.Runtime.CompilerServices.ExtensionAttribute)) ? "this " : string.Empty)}{Parameters(m.GetParameters())})",
        PropertyInfo p => $"{(p.GetMethod?.IsStatic == true ? "static " : string.Empty)}{Name(p.PropertyType, tupleNames: TupleNames(p.GetCustomAttribute<System.Runtime.CompilerServices.TupleElementNamesAttribute>()))}{NullableMark(p.PropertyType, () => Nullability.Create(p).ReadState)} {(p.GetIndexParameters().Length > 0 ? $"this[{Parameters(p.GetIndexParameters())}]" : p.Name)} {{ {Accessors(p)} }}",
        FieldInfo f when f.DeclaringType!.IsEnum => $"{f.Name} = {Convert.ToInt64(f.GetRawConstantValue(), System.Globalization.CultureInfo.InvariantCulture)}",
        FieldInfo f => $"{(f.IsLiteral ? "const " : f.IsStatic ? "static " : string.Empty)}{(f.IsInitOnly ? "readonly " : string.Empty)}{Name(f.FieldType)} {f.Name}{(f.IsLiteral ? " = " + Literal(f.GetRawConstantValue()) : string.Empty)}",
        EventInfo e => $"event {Name(e.EventHandlerType!)} {e.Name}",
        _ => member.Name,
    };

    public static string Name(Type type, bool withOuter = true, Queue<string?>? tupleNames = null)
    {
        if (Keywords.TryGetValue(type, out string? keyword))
        {
            return keyword;
        }

        if (type.IsByRef)
        {
            return Name(type.GetElementType()!, tupleNames: tupleNames);
        }

        if (type.IsArray)
        {
            return Name(type.GetElementType()!, tupleNames: tupleNames) + "[" + new string(',', type.GetArrayRank() - 1) + "]";
        }

        if (Nullable.GetUnderlyingType(type) is { } inner)
        {
            return Name(inner, tupleNames: tupleNames) + "?";
        }

        if (type.IsGenericParameter)
        {
            return type.Name;
        }

        string prefix = withOuter && type.IsNested ? Name(type.DeclaringType!) + "." : string.Empty;
        string simple = type.Name;
        int tick = simple.IndexOf('`', StringComparison.Ordinal);
        if (tick < 0)
        {
            return prefix + simple;
        }

        int outer = type.IsNested ? type.DeclaringType!.GetGenericArguments().Length : 0;
        var own = type.GetGenericArguments().Skip(outer);
        if (type.FullName?.StartsWith("System.ValueTuple`", StringComparison.Ordinal) == true || type.Name.StartsWith("ValueTuple`", StringComparison.Ordinal))
        {
            // Element names come first for the whole tuple, then those of nested types (pre-order, as the compiler writes them).
            var elements = own.ToList();
            var names = elements.Select(_ => tupleNames is { Count: > 0 } ? tupleNames.Dequeue() : null).ToList();
            return "(" + string.Join(", ", elements.Select((a, i) => Name(a, tupleNames: tupleNames) + (names[i] is { } n ? " " + n : string.Empty))) + ")";
        }

        return prefix + simple[..tick] + "<" + string.Join(", ", own.Select(a => Name(a, tupleNames: tupleNames))) + ">";
    }

    private static Queue<string?>? TupleNames(System.Runtime.CompilerServices.TupleElementNamesAttribute? attribute) =>
        attribute is null ? null : new Queue<string?>(attribute.TransformNames);

    private static bool IsRecord(Type type) => type.GetMethod("<Clone>$") is not null
        || (type.IsValueType && type.GetMethod("PrintMembers", BindingFlags.NonPublic | BindingFlags.Instance) is not null);

    private static string Generics(MethodInfo m) => m.IsGenericMethodDefinition ? "<" + string.Join(", ", m.GetGenericArguments().Select(a => a.Name)) + ">" : string.Empty;

    private static string Parameters(ParameterInfo[] parameters) => string.Join(", ", parameters.Select(p =>
        (p.IsOut ? "out " : p.ParameterType.IsByRef ? (p.IsIn ? "in " : "ref ") : p.IsDefined(typeof(ParamArrayAttribute)) ? "params " : string.Empty)
        + Name(p.ParameterType, tupleNames: TupleNames(p.GetCustomAttribute<System.Runtime.CompilerServices.TupleElementNamesAttribute>())) + NullableMark(p.ParameterType, () => Nullability.Create(p).WriteState) + " " + p.Name
        + (p.HasDefaultValue ? " = " + (p.DefaultValue is null && p.ParameterType.IsValueType && Nullable.GetUnderlyingType(p.ParameterType) is null ? "default" : Literal(p.DefaultValue)) : string.Empty)));

    private static string NullableMark(Type type, Func<NullabilityState> state)
    {
        if (type.IsValueType || type.IsByRef && type.GetElementType()!.IsValueType)
        {
            return string.Empty;
        }

        try
        {
            return state() == NullabilityState.Nullable ? "?" : string.Empty;
        }
        catch (InvalidOperationException)
        {
            return string.Empty;
        }
    }

    private static string Accessors(PropertyInfo p)
    {
        var parts = new List<string>();
        if (p.GetMethod is { IsPublic: true })
        {
            parts.Add("get;");
        }

        if (p.SetMethod is { IsPublic: true } setter)
        {
            bool init = setter.ReturnParameter.GetRequiredCustomModifiers().Any(t => t.FullName == "System.Runtime.CompilerServices.IsExternalInit");
            parts.Add(init ? "init;" : "set;");
        }

        return string.Join(" ", parts);
    }

    private static string Literal(object? value) => value switch
    {
        null => "null",
        Enum e => e.GetType().Name + "." + e,
        string s => "\"" + s + "\"",
        bool b => b ? "true" : "false",
        char c => "'" + c + "'",
        float f => f.ToString("R", System.Globalization.CultureInfo.InvariantCulture) + "f",
        double d => d.ToString("R", System.Globalization.CultureInfo.InvariantCulture),
        IFormattable f => f.ToString(null, System.Globalization.CultureInfo.InvariantCulture),
        _ => value.ToString() ?? string.Empty,
    };
}
