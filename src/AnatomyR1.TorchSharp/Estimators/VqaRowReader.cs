using AnatomyR1.Augmentation;
using AnatomyR1.Data;
using AnatomyR1.TorchSharp.Policy;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms.Image;

namespace AnatomyR1.TorchSharp.Estimators;

/// <summary>One row read for the policy: the sample fields present in the view and the pixels when read from a column.</summary>
/// <param name="Sample">The sample.</param>
/// <param name="Image">The row's image: its file, or the pixels read from a column.</param>
/// <param name="OptionSimilarity">S(q) from the <c>OptionSimilarity</c> column, or null when the view has none.</param>
/// <param name="Variants">GDQA question forms from the variant columns (original first), or null when the view has none.</param>
/// <param name="Stage">The curriculum stage from the <c>CurriculumStage</c> column, or null when the view has none.</param>
internal sealed record VqaRow(VqaSample Sample, PolicyImage Image, float? OptionSimilarity = null, IReadOnlyList<VqaSample>? Variants = null, int? Stage = null);

/// <summary>Reads question rows out of an <see cref="IDataView"/> with clear errors for missing or mistyped columns.</summary>
internal static class VqaRowReader
{
    /// <summary>Checks the columns the policy needs.</summary>
    public static void Validate(DataViewSchema schema, VlmImageInput image, bool needAnswer)
    {
        if (image.PixelsColumn is string pixels)
        {
            if (schema.GetColumnOrNull(pixels) is not { Type: VectorDataViewType { ItemType: NumberDataViewType } vector } || vector.ItemType.RawType != typeof(float))
            {
                throw new ArgumentException($"The input needs a '{pixels}' column of type vector of float (from ExtractPixels).");
            }
        }
        else if (image.ImageColumn is string images)
        {
            if (schema.GetColumnOrNull(images) is not { Type: ImageDataViewType })
            {
                throw new ArgumentException($"The input needs a '{images}' column of ML.NET images (from LoadImages).");
            }
        }
        else
        {
            RequireText(schema, image.ImagePathColumn);
        }

        RequireText(schema, VqaColumns.Question);
        if (schema.GetColumnOrNull(VqaColumns.Options) is not { Type: VectorDataViewType { ItemType: TextDataViewType } })
        {
            throw new ArgumentException($"The input needs a '{VqaColumns.Options}' column of type vector of text.");
        }

        if (needAnswer && schema.GetColumnOrNull(VqaColumns.CorrectIndex) is not { Type: NumberDataViewType } && schema.GetColumnOrNull(VqaColumns.Answer) is null)
        {
            throw new ArgumentException($"The input needs a numeric '{VqaColumns.CorrectIndex}' column (or an '{VqaColumns.Answer}' text column) to compute rewards.");
        }
    }

    /// <summary>Reads every row.</summary>
    public static List<VqaRow> Read(IDataView input, VlmImageInput image, string? scoreColumn = VqaColumns.OptionSimilarity)
    {
        var schema = input.Schema;
        Validate(schema, image, needAnswer: false);
        var rows = new List<VqaRow>();
        var samples = new SampleRowReader(schema, scoreColumn, imagePathColumn: image.PixelsColumn is null && image.ImageColumn is null ? image.ImagePathColumn : null);
        var pixelColumn = image.PixelsColumn is string p ? schema[p] : (DataViewSchema.Column?)null;
        var imageColumn = image.PixelsColumn is null && image.ImageColumn is string ic ? schema[ic] : (DataViewSchema.Column?)null;
        var stageColumn = schema.GetColumnOrNull(VqaColumns.CurriculumStage) is { Type: NumberDataViewType } sc && sc.Type.RawType == typeof(int) ? sc : (DataViewSchema.Column?)null;
        var (width, height) = pixelColumn is { Type: VectorDataViewType { Dimensions: { Length: 3 } dims } } && dims[0] == 3 ? (dims[2], dims[1]) : (0, 0);
        var variantColumns = new[] { GroupDiversityColumns.VariantQuestions, GroupDiversityColumns.VariantOptions, GroupDiversityColumns.VariantCorrectIndices }
            .Select(n => schema.GetColumnOrNull(n)).ToArray();
        bool hasVariants = variantColumns.All(c => c is { Type: VectorDataViewType });
        var active = samples.ActiveColumns.Concat((hasVariants ? variantColumns : Array.Empty<DataViewSchema.Column?>()).Where(c => c.HasValue).Select(c => c!.Value))
            .Concat(pixelColumn is { } px ? new[] { px } : Array.Empty<DataViewSchema.Column>())
            .Concat(stageColumn is { } st ? new[] { st } : Array.Empty<DataViewSchema.Column>())
            .Concat(imageColumn is { } im ? new[] { im } : Array.Empty<DataViewSchema.Column>()).ToList();
        using var cursor = input.GetRowCursor(active);
        var readSample = samples.Bind(cursor);
        var pixelGetter = pixelColumn is { } pc ? cursor.GetGetter<VBuffer<float>>(pc) : null;
        var stageGetter = stageColumn is { } stc ? cursor.GetGetter<int>(stc) : null;
        var imageGetter = imageColumn is { } imc ? cursor.GetGetter<MLImage>(imc) : null;
        MLImage imageValue = null!;
        int stageValue = 0;
        var variantQuestions = hasVariants ? cursor.GetGetter<VBuffer<ReadOnlyMemory<char>>>(variantColumns[0]!.Value) : null;
        var variantOptions = hasVariants ? cursor.GetGetter<VBuffer<ReadOnlyMemory<char>>>(variantColumns[1]!.Value) : null;
        var variantCorrect = hasVariants ? cursor.GetGetter<VBuffer<int>>(variantColumns[2]!.Value) : null;
        VBuffer<ReadOnlyMemory<char>> questionValues = default, variantOptionValues = default;
        VBuffer<int> correctValues = default;
        VBuffer<float> pixelValues = default;
        int row = 0;
        while (cursor.MoveNext())
        {
            var (sample, similarityValue) = readSample();
            PolicyImage picture;
            if (pixelGetter is not null)
            {
                pixelGetter(ref pixelValues);
                var pixels = pixelValues.DenseValues().Select(v => v * image.PixelScale).ToArray();
                string name = $"row {row} ({SampleSource.Describe(sample)}), column '{image.PixelsColumn}'";
                try
                {
                    picture = width > 0 && (long)width * height * 3 == pixels.Length
                        ? PolicyImage.FromPixels(pixels, width, height, name)
                        : PolicyImage.FromSquarePixels(pixels, name);
                }
                catch (ArgumentException ex)
                {
                    throw new InvalidDataException($"Row {row} ({SampleSource.Describe(sample)}): {ex.Message} Extract planar R, G, B (ExtractPixels' default).", ex);
                }
            }
            else if (imageGetter is not null)
            {
                imageGetter(ref imageValue);
                string name = $"row {row} ({SampleSource.Describe(sample)}), column '{image.ImageColumn}'";
                picture = imageValue is null || imageValue.Width == 0
                    ? throw new InvalidDataException($"Row {row} ({SampleSource.Describe(sample)}): column '{image.ImageColumn}' holds no image.")
                    : FromImage(imageValue, name);
            }
            else if (sample.ImagePath.Length == 0)
            {
                throw new InvalidDataException($"Row {row} ({SampleSource.Describe(sample)}): column '{image.ImagePathColumn}' is empty.");
            }
            else
            {
                picture = PolicyImage.FromFile(sample.ImagePath);
            }

            float? score = samples.HasScore ? similarityValue : null;
            IReadOnlyList<VqaSample>? variants = null;
            if (variantQuestions is not null)
            {
                variantQuestions(ref questionValues);
                variantOptions!(ref variantOptionValues);
                variantCorrect!(ref correctValues);
                try
                {
                    variants = GroupDiversityColumns.Read(questionValues.DenseValues().Select(v => v.ToString()).ToList(),
                        variantOptionValues.DenseValues().Select(v => v.ToString()).ToList(), correctValues.DenseValues().ToList()).Select(v => v.ToSample(sample)).ToList();
                }
                catch (ArgumentException ex)
                {
                    throw new InvalidDataException($"Row {row} ({SampleSource.Describe(sample)}): {ex.Message}", ex);
                }
            }

            int? stage = null;
            if (stageGetter is not null)
            {
                stageGetter(ref stageValue);
                stage = stageValue;
            }

            rows.Add(new VqaRow(sample, picture, score, variants, stage));
            row++;
        }

        return rows;
    }

    /// <summary>Planar RGB in [0, 1] of an ML.NET image (32-bit RGBA or BGRA; alpha is ignored).</summary>
    private static PolicyImage FromImage(MLImage image, string name)
    {
        bool bgra = image.PixelFormat == MLPixelFormat.Bgra32;
        if (!bgra && image.PixelFormat != MLPixelFormat.Rgba32)
        {
            throw new InvalidDataException($"The {name} has pixel format {image.PixelFormat}; 32-bit RGBA or BGRA is needed.");
        }

        int w = image.Width, h = image.Height, plane = w * h;
        var pixels = image.Pixels;
        var values = new float[3 * plane];
        for (int i = 0; i < plane; i++)
        {
            byte r = pixels[(4 * i) + (bgra ? 2 : 0)], g = pixels[(4 * i) + 1], b = pixels[(4 * i) + (bgra ? 0 : 2)];
            values[i] = r / 255f;
            values[plane + i] = g / 255f;
            values[(2 * plane) + i] = b / 255f;
        }

        return PolicyImage.FromPixels(values, w, h, name);
    }

    private static void RequireText(DataViewSchema schema, string name)
    {
        var column = schema.GetColumnOrNull(name) ?? throw new ArgumentException($"The input has no '{name}' column.");
        if (column.Type is not TextDataViewType)
        {
            throw new ArgumentException($"Column '{name}' has type {column.Type}; expected text.");
        }
    }
}
