// ESLint flat config: typescript-eslint's type-aware rules plus Pulumi's rules that catch
// `${output}` in template literals (which prints "Calling [toString] on an [Output<T>]...").
const tseslint = require("typescript-eslint");
const pulumi = require("@pulumi/eslint-plugin");

module.exports = tseslint.config(
    { ignores: ["node_modules/**", "bin/**", "policy/node_modules/**", "coverage/**", "**/*.js"] },
    ...tseslint.configs.recommended,
    {
        files: ["**/*.ts"],
        languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: __dirname } },
        plugins: { "@pulumi": pulumi },
        rules: {
            "@pulumi/no-output-in-template-literal": "error",
            "@pulumi/no-output-instance-in-template-literal": "error",
            "@typescript-eslint/no-non-null-assertion": "off",
            // `const { a: _a, ...rest } = x` is how a field is left out on purpose.
            "@typescript-eslint/no-unused-vars": ["error", { varsIgnorePattern: "^_", argsIgnorePattern: "^_" }],
        },
    },
);
