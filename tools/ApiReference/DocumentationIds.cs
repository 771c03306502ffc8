using System.Reflection;
using System.Text;

namespace ApiReference;

/// <summary>The C# compiler's documentation ids (the <c>name</c> attribute of the XML documentation file) of reflected members.</summary>
internal static class DocumentationIds
{
    public static string Of(Type type) => "T:" + TypeName(type, forParameter: false);

    public static string Of(MemberInfo member) => member switch
    {
        Type t => Of(t),
        ConstructorInfo c => "M:" + TypeName(c.DeclaringType!, false) + "." + (c.IsStatic ? "#cctor" : "#ctor") + Parameters(c.GetParameters()),
        MethodInfo m => "M:" + TypeName(m.DeclaringType!, false) + "." + m.Name.Replace('.', '#')
            + (m.IsGenericMethodDefinition ? "``" + m.GetGenericArguments().Length : string.Empty)
            + Parameters(m.GetParameters())
            + (m.Name is "op_Implicit" or "op_Explicit" ? "~" + TypeName(m.ReturnType, true) : string.Empty),
        PropertyInfo p => "P:" + TypeName(p.DeclaringType!, false) + "." + p.Name.Replace('.', '#') + Parameters(p.GetIndexParameters()),
        FieldInfo f => "F:" + TypeName(f.DeclaringType!, false) + "." + f.Name,
        EventInfo e => "E:" + TypeName(e.DeclaringType!, false) + "." + e.Name,
        _ => throw new ArgumentException($"Unsupported member {member}."),
    };

    private static string Parameters(ParameterInfo[] parameters) =>
        parameters.Length == 0 ? string.Empty : "(" + string.Join(",", parameters.Select(p => TypeName(p.ParameterType, true))) + ")";

    private static string TypeName(Type type, bool forParameter)
    {
        if (type.IsByRef)
        {
            return TypeName(type.GetElementType()!, forParameter) + "@";
        }

        if (type.IsPointer)
        {
            return TypeName(type.GetElementType()!, forParameter) + "*";
        }

        if (type.IsArray)
        {
            int rank = type.GetArrayRank();
            return TypeName(type.GetElementType()!, forParameter) + (rank == 1 ? "[]" : "[" + string.Join(",", Enumerable.Repeat("0:", rank)) + "]");
        }

        if (type.IsGenericParameter)
        {
            return (type.DeclaringMethod is not null ? "``" : "`") + type.GenericParameterPosition;
        }

        var name = new StringBuilder();
        if (type.IsNested)
        {
            name.Append(TypeName(type.DeclaringType!, forParameter: false)).Append('.');
        }
        else if (!string.IsNullOrEmpty(type.Namespace))
        {
            name.Append(type.Namespace).Append('.');
        }

        string simple = type.Name;
        int tick = simple.IndexOf('`', StringComparison.Ordinal);
        if (forParameter && type.IsGenericType && !type.IsGenericTypeDefinition)
        {
            // Only the arguments this type adds (a nested type's outer arguments belong to its declaring type).
            var all = type.GetGenericArguments();
            int outer = type.IsNested ? type.DeclaringType!.GetGenericArguments().Length : 0;
            var own = all.Skip(outer).ToArray();
            name.Append(tick >= 0 ? simple[..tick] : simple);
            if (own.Length > 0)
            {
                name.Append('{').Append(string.Join(",", own.Select(a => TypeName(a, true)))).Append('}');
            }
        }
        else
        {
            name.Append(simple);
        }

        return name.ToString();
    }
}
