using System.Globalization;
using System.Text;

namespace Broadcast.Observability.Metrics;

/// <summary>
/// Writes the Prometheus text exposition format (version 0.0.4): one HELP and TYPE line per family,
/// then samples with escaped label values.
/// </summary>
public sealed class PrometheusTextWriter
{
    public const string ContentType = "text/plain; version=0.0.4; charset=utf-8";

    private readonly StringBuilder _text = new();
    private readonly HashSet<string> _declared = new(StringComparer.Ordinal);

    public PrometheusTextWriter Family(string name, string type, string help)
    {
        if (_declared.Add(name))
        {
            _text.Append("# HELP ").Append(name).Append(' ').Append(help).Append('\n');
            _text.Append("# TYPE ").Append(name).Append(' ').Append(type).Append('\n');
        }
        return this;
    }

    public PrometheusTextWriter Sample(string name, double value, params (string Name, string Value)[] labels)
    {
        _text.Append(name);
        if (labels.Length > 0)
        {
            _text.Append('{');
            for (int i = 0; i < labels.Length; i++)
            {
                if (i > 0) _text.Append(',');
                _text.Append(labels[i].Name).Append("=\"");
                AppendEscaped(labels[i].Value);
                _text.Append('"');
            }
            _text.Append('}');
        }
        _text.Append(' ').Append(FormatValue(value)).Append('\n');
        return this;
    }

    public override string ToString() => _text.ToString();

    private static string FormatValue(double value) =>
        double.IsPositiveInfinity(value) ? "+Inf"
        : double.IsNegativeInfinity(value) ? "-Inf"
        : double.IsNaN(value) ? "NaN"
        : value.ToString("R", CultureInfo.InvariantCulture);

    // Label values escape backslash, double quote and line feed (exposition format spec).
    private void AppendEscaped(string value)
    {
        foreach (char c in value)
        {
            switch (c)
            {
                case '\\': _text.Append("\\\\"); break;
                case '"': _text.Append("\\\""); break;
                case '\n': _text.Append("\\n"); break;
                default: _text.Append(c); break;
            }
        }
    }
}
