// The reference reading of the CloudFormation schemas' patterns: java.util.regex, as the
// registry's resource handlers apply them (everit-json-schema: Pattern.compile(p).matcher(v).find()).
// Input on stdin, one hex-encoded UTF-8 string per line: the number of patterns, the patterns,
// the number of texts, the texts. Output: per pattern, `E` when it does not compile, else one
// `1` (found) or `0` per text. Run with `java PatternVerdicts.java` (the infra tests do).
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.HexFormat;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

public class PatternVerdicts {
    static String unhex(String line) {
        return new String(HexFormat.of().parseHex(line.trim()), StandardCharsets.UTF_8);
    }

    public static void main(String[] args) throws Exception {
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        int patterns = Integer.parseInt(in.readLine().trim());
        String[] p = new String[patterns];
        for (int i = 0; i < patterns; i++) p[i] = unhex(in.readLine());
        int texts = Integer.parseInt(in.readLine().trim());
        String[] t = new String[texts];
        for (int i = 0; i < texts; i++) t[i] = unhex(in.readLine());
        StringBuilder out = new StringBuilder();
        for (String pattern : p) {
            Pattern compiled;
            try {
                compiled = Pattern.compile(pattern);
            } catch (PatternSyntaxException e) {
                out.append("E\n");
                continue;
            }
            for (String text : t) out.append(compiled.matcher(text).find() ? '1' : '0');
            out.append('\n');
        }
        System.out.print(out);
    }
}
