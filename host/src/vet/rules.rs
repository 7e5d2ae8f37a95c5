//! The phrase rules of `vet`: what poisoned tool metadata says, in English,
//! Japanese, Chinese, Spanish, French and German.
//!
//! Rules match the normalised text of [`super::text::Normalized`] (NFKC,
//! lowercase, homoglyphs mapped, invisibles dropped), so a rule is written
//! once, in lowercase, and also catches its disguised forms. Precision is a
//! design goal: a rule matches an instruction *to the model* (imperative
//! verb next to a sensitive target, an address to "the user"), not a word
//! that ordinary descriptions use ("important", "SSH key", "password").

use std::sync::LazyLock;

use regex::Regex;

use super::Severity;
use super::gates::Gates;

/// What must hold of a match besides the pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    None,
    /// Group `tool` names a tool: a sibling (same component) is fine, another
    /// component's tool is shadowing, anything else must look like a tool name.
    ToolReference,
    /// Public SSH material (`authorized_keys`, `known_hosts`, `.pub`) is not a secret.
    NotPublicSshMaterial,
    /// "Send feedback to support@..." addresses the reader about their own
    /// feedback, not the model about data.
    NotFeedback,
}

/// What people send to a support address of their own accord.
pub static FEEDBACK: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b(?:feedback|bug reports?|questions?|suggestions?|comments?|issues?)\b")
        .expect("valid regex")
});

pub struct Rule {
    pub id: &'static str,
    pub severity: Severity,
    pub reason: &'static str,
    pub check: Check,
    pub patterns: Vec<Regex>,
}

/// Imperative verbs that move data somewhere (into an argument, a message, a URL).
const SINK: &str = r"(?:\b(?:pass|send|include|provide|attach|copy|paste|put|insert|append|fill|upload|post|forward|share|leak|extract|dump|submit|transmit|embed|supply|exfiltrate|collect|gather)\b|渡して|渡す|渡し|送信|送って|送る|含めて|含める|添付|入力して|貼り付け|コピーして|アップロード|共有して|传递|传入|发送|发给|包含|附上|附加|放入|填入|粘贴|复制|上传|提供|附带|带上|\b(?:pasa|pásale|pasale|envía|envia|enviar|incluye|incluir|adjunta|copia|pega|sube|comparte|proporciona|pon)\b|\b(?:passe|passez|envoie|envoyez|envoyer|inclus|incluez|inclure|joins|joignez|copiez|colle|collez|partage|partagez|fournis|fournissez|mets|mettez|transmets|transmettez)\b|\b(?:übergib|übergeben|sende|senden|schicke|schick|schicken|füge|einfügen|hänge|kopiere|teile|gib|übermittle|übermitteln)\b)";

/// Imperative verbs that read or open something.
const READ: &str = r"(?:\b(?:read|open|cat|load|access|look (?:inside|in|into|through))\b|読み取って|読み取り|読み込んで|読み込み|読んで|開いて|读取|读出|打开|\b(?:lee|leer|abre|accede)\b|\b(?:lis|lisez|lire|ouvre|ouvrez)\b|\b(?:lies|lese|lesen|öffne|öffnen)\b)";

/// Specific files that hold secrets.
const SENSITIVE_PATH: &str = r"(?:~/\.ssh\S*|\.ssh/\S*|\bid_(?:rsa|dsa|ecdsa|ed25519)\b|mcp\.json|~/\.cursor\S*|\.cursor/\S*|claude_desktop_config(?:\.json)?|(?:^|[\s/`'(])\.env(?:$|[^.\w]|\.(?:local|prod\w*|dev\w*|staging|test)\b)|/etc/(?:passwd|shadow|sudoers)|\.aws/credentials|~/\.aws\S*|\.netrc|\.npmrc|\.pypirc|\.git-credentials|\.kube/config|\.docker/config\.json|\.(?:bash|zsh)_history|\.gnupg\S*|wallet\.dat|login\.keychain|\.ssh (?:folder|directory|dir)\b|\b(?:the user'?s|your|their|his|her|all (?:the )?|every) dotfiles\b|~/\.(?:bashrc|zshrc|profile|bash_profile)\b)";

/// Secrets by what they are.
const SECRET: &str = r"(?:\b[a-z0-9_]*_(?:api_key|secret|token|password|secret_key)\b|\benvironment variables?\b|\bprivate[ _-]?keys?\b|\bssh[ _-]?keys?\b|\bpasswords?\b|\bpassphrases?\b|\bcredentials?\b|\bapi[ _-]?keys?\b|\baccess[ _-]?tokens?\b|\bauth(?:entication)?[ _-]?tokens?\b|\bbearer[ _-]?tokens?\b|\bsecret[ _-]?keys?\b|\bsession (?:cookies?|tokens?)\b|\bcookies\b|\bseed phrases?\b|\bmnemonic\b|\benvironment variables\b|秘密鍵|ssh ?鍵|パスワード|認証情報|資格情報|api ?キー|アクセストークン|トークン|環境変数|私钥|密钥|密码|凭证|凭据|令牌|环境变量|clave privada|claves privadas|contraseñas?|credenciales|tokens? de acceso|claves? de (?:la )?api|variables de entorno|clés? privées?|mots? de passe|identifiants|jetons? d'accès|clés? d'api|variables d'environnement|private[nr]? schlüssel|passw(?:o|ö)rt(?:er)?|zugangsdaten|anmeldedaten|zugriffstoken|api-schlüssel|umgebungsvariablen)";

/// What the model knows and the user did not choose to share.
const CONTEXT: &str = r"(?:\bsystem prompt\b|\bsystem message\b|\b(?:conversation|chat|message) history\b|\bprevious (?:messages|conversation)\b|\b(?:entire|full|whole) conversation\b|\ball (?:previous |prior )?messages\b|\byour (?:instructions|system instructions)\b|\bcontext window\b|\beverything (?:the user|they|you) (?:told|said|wrote|shared|typed)\b|\beverything in your context\b|システムプロンプト|会話履歴|チャット履歴|これまでの会話|系统提示词?|对话历史|聊天记录|聊天历史|聊天内容|之前的对话|historial de (?:la )?conversación|historial del chat|prompt del sistema|mensajes anteriores|historique de (?:la )?conversation|prompt système|invite système|messages précédents|gesprächsverlauf|chatverlauf|systemprompt|system-prompt|bisherigen nachrichten)";

/// A stretch of text within one instruction (paths contain dots, so this is
/// bounded by length rather than by sentence).
const W: &str = r".{0,80}?";

fn compile(patterns: &[String]) -> Vec<Regex> {
    patterns
        .iter()
        .map(|p| Regex::new(&format!("(?s){p}")).unwrap_or_else(|e| panic!("rule {p}: {e}")))
        .collect()
}

fn rule(
    id: &'static str,
    severity: Severity,
    reason: &'static str,
    check: Check,
    patterns: &[String],
) -> Rule {
    Rule { id, severity, reason, check, patterns: compile(patterns) }
}

fn s(p: &str) -> String {
    p.to_string()
}

/// Every phrase rule, compiled once.
pub static RULES: LazyLock<Vec<Rule>> = LazyLock::new(|| {
    vec![
        rule(
            "hidden-instructions",
            Severity::High,
            "a block addressed to the model and hidden from a reader of the UI",
            Check::None,
            &[
                s(
                    r"</?\s*(?:important|system|instructions?|secret|hidden|admin|sys|assistant|ai|prompt|context|override|critical|note to (?:the )?(?:ai|model|assistant))\s*>",
                ),
                s(r"\[/?\s*(?:system|inst|admin|sys)\s*\]"),
                s(r"<\|(?:im_start|im_end|system|endoftext)\|>"),
                s(r"\{\{\s*(?:system|instructions)"),
                s(r"(?:^|\s)#{2,}\s*(?:system|instructions)\b"),
            ],
        ),
        rule(
            "model-directed",
            Severity::Low,
            "text addressed to the AI model rather than describing the tool",
            Check::None,
            &[
                s(
                    r"\b(?:note|message|instructions?) (?:to|for) (?:the )?(?:ai|llm|model|assistant|agent|claude|chatgpt|gpt)\b",
                ),
                s(r"\bif you are an? (?:ai|llm|language model|assistant|agent)\b"),
                s(r"\b(?:dear |attention,? )(?:ai|llm|model|assistant|agent|claude)\b"),
                s(
                    r"(?:aiへの|アシスタントへの|モデルへの)(?:注意|指示|メモ)|(?:给|致)(?:ai|助手|模型)的(?:说明|指示|提示)|nota (?:para|a) (?:la ia|el asistente|el modelo)|note (?:pour|à) (?:l'ia|l'assistant|le modèle)|hinweis (?:für|an) (?:die ki|den assistenten|das modell)",
                ),
            ],
        ),
        rule(
            "instruction-override",
            Severity::Critical,
            "tries to override the model's instructions",
            Check::None,
            &[
                s(
                    r"\b(?:previous|prior|earlier|above|original|existing) (?:rules|instructions|guidance|guidelines|policies) (?:are|is) (?:no longer (?:valid|in effect|applicable)|void|superseded|cancelled|obsolete)|\b(?:guidance|instructions|rules|guidelines) (?:is|are) (?:hereby )?superseded by\b",
                ),
                s(
                    r"\bpretend (?:that )?(?:the |your |all )?(?:safety|content|usage|security) (?:policy|policies|filters?|rules|guidelines|restrictions) (?:has|have|is|are) (?:been )?(?:lifted|disabled|removed|off|suspended)",
                ),
                s(r"(?:^|[.!?]\s+)(?:system|developer)\s*:\s"),
                s(
                    r"\bignora (?:tutte )?le (?:istruzioni|regole) (?:precedenti|anteriori)|\bdimentica (?:tutte )?le (?:tue )?istruzioni|\bignore (?:todas )?as instruções anteriores|\besqueça (?:todas )?as (?:suas )?instruções",
                ),
                s(
                    r"\b(?:ignore|disregard|forget|override|bypass)\b (?:all |any |the |your )*(?:previous |prior |above |earlier |preceding |other |existing |system |safety |original )+(?:instructions|directions|rules|prompts?|guidelines|messages|constraints)",
                ),
                s(
                    r"\b(?:ignore|disregard|forget)\b (?:all |everything )?(?:you (?:were|have been) told|your (?:instructions|rules|guidelines|training))",
                ),
                s(
                    r"\byou are now\b|\byour new (?:role|task|goal|instructions?) (?:is|are)\b|\bnew (?:system )?instructions\s*:|\bdeveloper mode\b|\bjailbreak",
                ),
                s(
                    r"\bthis (?:tool|description|instruction) (?:overrides|supersedes|takes precedence over)\b",
                ),
                s(
                    r"(?:以前|前|これまで|上記|先)の(?:すべての|全ての)?(?:指示|命令|ルール)を(?:すべて|全て)?無視|指示を無視して|今からあなたは|あなたの新しい(?:役割|任務)は",
                ),
                s(
                    r"(?:忽略|无视|忘记|忘掉)(?:之前|以前|上面|先前|前面|所有|一切)+(?:的)?(?:所有)?(?:指令|指示|说明|规则|提示)|从现在(?:开始|起)你是|你的新(?:角色|任务)是",
                ),
                s(
                    r"\b(?:ignora|olvida|omite)\b (?:todas )?(?:las |tus )(?:instrucciones|reglas|indicaciones)(?: anteriores| previas)?|a partir de ahora eres",
                ),
                s(
                    r"\b(?:ignore|ignorez|oublie|oubliez)\b (?:toutes )?(?:les |tes |vos )(?:instructions|consignes|règles)(?: précédentes| antérieures)?|désormais,? (?:tu es|vous êtes)",
                ),
                s(
                    r"\b(?:ignoriere|ignorieren sie|vergiss|vergessen sie)\b (?:alle )?(?:vorherigen |bisherigen |früheren |deine |ihre )*(?:anweisungen|instruktionen|regeln|vorgaben)|ab (?:jetzt|sofort) bist du",
                ),
            ],
        ),
        rule(
            "concealment",
            Severity::High,
            "asks the model to hide what it does from the user",
            Check::None,
            &[
                s(
                    r"\bneed not be (?:discussed|mentioned|disclosed|shown|reported)\b|\b(?:no need|there is no need|unnecessary) to (?:mention|tell|inform|bring up)\b.{0,30}?\buser\b|\b(?:respond|reply|answer) (?:to the user )?(?:normally|as usual)\b|\bin the background\b.{0,40}?\b(?:not|never|need not)\b",
                ),
                s(
                    r"\bno (?:le )?(?:digas|menciones|informes|cuentes|reveles|muestres)\b.{0,30}?\bal usuario|\b(?:inutile|pas besoin|pas la peine) d'en (?:parler|informer)\b|\bne (?:dis|dites|mentionne|mentionnez|révèle|révélez|signale|signalez|montre|montrez|informe|informez)\b.{0,40}?\b(?:pas|rien)\b.{0,30}?l'utilisateur",
                ),
                s(
                    r"\b(?:do not|don't|never|must not|should not)\b (?:ever )?(?:tell|mention|inform|reveal|show|disclose|alert|notify|let)\b.{0,30}?\b(?:the )?user\b",
                ),
                s(
                    r"\bwithout (?:telling|informing|notifying|alerting|asking|showing|letting) (?:the )?user\b",
                ),
                s(
                    r"\b(?:the )?user (?:must|should|need) not (?:know|see|be told|find out|notice)\b|\bhide (?:this|it|that) from (?:the )?user\b|\bkeep (?:this|it) (?:secret|hidden) from\b",
                ),
                s(r"\b(?:could|might|would|will) (?:upset|alarm|worry|scare|confuse) the user\b"),
                s(
                    r"ユーザー(?:に|には)(?:これを|このことを)?(?:伝え|言わ|知らせ|教え|見せ)(?:ない|ず|るな)|(?:言及|説明|報告)しないで|ユーザーに(?:は)?(?:秘密|内緒)|こっそり",
                ),
                s(
                    r"(?:不要|别|切勿|不得)(?:告诉|告知|通知|提醒|让)(?:用户|使用者)|(?:不要|别)(?:向|对)用户(?:提及|透露|说明|显示|展示)|用户不(?:应|应该|能)知道|(?:悄悄|偷偷)地?",
                ),
                s(
                    r"\bno (?:le )?(?:digas|menciones|informes|cuentes|reveles|muestres) (?:nada )?(?:de esto )?al usuario|\bsin (?:decirle|avisar|informar|notificar)(?:le)? al usuario|el usuario no (?:debe|debería) (?:saber|ver|enterarse)",
                ),
                s(
                    r"\bne (?:le |lui )?(?:dis|dites|mentionne|mentionnez|révèle|révélez|signale|signalez|montre|montrez) (?:pas|rien|jamais) (?:cela |ceci )?à l'utilisateur|\bsans (?:le dire|en informer|informer|prévenir|avertir) (?:à )?l'utilisateur|l'utilisateur ne doit pas (?:savoir|voir)",
                ),
                s(
                    r"\b(?:sag|sage|erwähne|verrate|teile|zeige)\b (?:dem |den )?(?:benutzer|nutzer|anwender)\b.{0,30}?\bnicht\b|\bohne (?:den |dem )?(?:benutzer|nutzer|anwender) zu (?:informieren|fragen|benachrichtigen|warnen)|\b(?:benutzer|nutzer|anwender) darf (?:das |es |davon )?nicht(?:s)? (?:wissen|erfahren|sehen)|\bverschweige\b",
                ),
            ],
        ),
        rule(
            "coercive-ordering",
            Severity::Medium,
            "pressures the model to call this tool first or claims it fails otherwise",
            Check::ToolReference,
            &[
                s(
                    r"\bbefore (?:using|calling|invoking|running) (?:this|any|other|the other|each) (?:tool|function)s?\b,? (?:you must |always |first )*(?:call|use|run|invoke) (?:the )?[`'\x22]?(?P<tool>[a-z0-9_.-]+)",
                ),
                s(
                    r"\b(?:call|use|run|invoke) this tool (?:first|before (?:any|all|every|other))\b|\balways (?:call|use|run|invoke) this tool\b|\bmust be (?:called|used|run|invoked) (?:first|before (?:any|all|every|other))\b|\byou must (?:always )?(?:first|always) (?:call|use|run|invoke|read|send|pass)\b",
                ),
                s(
                    r"\b(?:otherwise|or else),? (?:the |this )?(?:tool|it|function|everything) (?:will|would) (?:not work|fail|break|crash|error)\b|\b(?:fails|will fail|won't work|will not work|doesn't work|does not work|cannot work) unless\b|\bonly works (?:if|when) you\b",
                ),
                s(
                    r"(?:最初|初め)に(?:必ず)?このツールを|そうしないと.{0,20}?(?:動作|機能|動き)(?:しません|しない)|でないと(?:ツールが)?(?:動作|機能)しません",
                ),
                s(
                    r"(?:首先|必须先|务必先)(?:调用|使用)(?:此|这个|本)工具|否则.{0,10}?(?:将|会)?(?:无法|不能|不会)(?:正常)?(?:工作|运行|使用)",
                ),
                s(
                    r"\bantes de (?:usar|utilizar|llamar a) (?:cualquier|otra) herramienta\b|\bde lo contrario,? (?:la herramienta |esto )?no funcionará|\bsolo funciona si\b",
                ),
                s(
                    r"\bavant d'(?:utiliser|appeler) (?:un autre|tout) (?:outil|fonction)\b|\bsinon,? (?:l'outil |cela |il )?ne fonctionnera pas|\bne fonctionne que si\b",
                ),
                s(
                    r"\bbevor (?:du|sie) (?:ein anderes|irgendein) (?:tool|werkzeug) (?:verwendest|benutzt|nutzt|aufrufst|verwenden|benutzen|aufrufen)\b|\bsonst funktioniert (?:das tool|es|das werkzeug) nicht\b|\bfunktioniert nur,? wenn\b",
                ),
            ],
        ),
        rule(
            "sensitive-file",
            Severity::High,
            "asks the model to read or hand over a file that holds secrets",
            Check::NotPublicSshMaterial,
            &[
                format!(r"(?:{SINK}|{READ}){W}(?P<target>{SENSITIVE_PATH})"),
                format!(
                    r"(?P<target>{SENSITIVE_PATH}){W}(?:{SINK}|{READ}|\bas\b|として|作为|\bcomme\b|\bcomo\b|\bals\b)"
                ),
            ],
        ),
        rule(
            "credential-request",
            Severity::High,
            "asks the model to hand over a credential or secret",
            Check::None,
            &[
                format!(
                    r"\b(?:already )?(?:approved|authorized|authorised|consented to|agreed to) (?:sharing|share|sending|send|giving|passing)\b.{{0,40}}?{SECRET}"
                ),
                format!(
                    r"{SINK}{W}(?:the |your |its |their |all |any |user'?s? )*(?:contents? of |value of )?{SECRET}"
                ),
                format!(r"{READ}{W}{SECRET}{W}\b(?:and|then)\b{W}{SINK}"),
                format!(r"(?:把|将){W}{SECRET}{W}{SINK}"),
                format!(
                    r"{SECRET}{W}(?:を|の)(?:内容を)?.{{0,20}}?(?:渡して|送信|送って|含めて|入力して|添付)|{SECRET}{W}(?:übergeben|senden|schicken|einfügen|übermitteln)\b"
                ),
            ],
        ),
        rule(
            "context-exfiltration",
            Severity::High,
            "asks the model to hand over the conversation, its instructions or its system prompt",
            Check::None,
            &[
                format!(r"{SINK}{W}{CONTEXT}"),
                format!(
                    r"{CONTEXT}{W}(?:を|の)(?:内容を)?.{{0,20}}?(?:渡して|送信|送って|含めて|入力して)|{CONTEXT}{W}(?:übergeben|senden|schicken|einfügen|übermitteln)\b"
                ),
                format!(r"(?:\bas\b|として|作为|\bcomme\b|\bcomo\b|\bals\b).{{0,24}}?{CONTEXT}"),
                format!(r"(?:把|将){W}{CONTEXT}{W}{SINK}"),
            ],
        ),
        rule(
            "exfiltration-url",
            Severity::High,
            "tells the model to send data to a fixed address",
            Check::NotFeedback,
            &[
                s(r"!\[[^\]]*\]\(https?://[^)\s]*[?&][^)\s]*(?:\{|%7b|\$)"),
                s(
                    r"https?://\S*[?&][a-z_]+=\{[^}]*(?:conversation|history|context|secret|token|prompt|summary|messages?|password|key)[^}]*\}",
                ),
                format!(
                    r"{SINK}{W}(?:\bto\b|\ba\b|\bà\b|\ban\b|に|到|给|至)?\s*(?:https?://\S+|[a-z0-9._%+-]+@[a-z0-9-]+(?:\.[a-z0-9-]+)+)"
                ),
                s(r"\b(?:bcc|cc|blind[ -]copy|copy)\b.{0,40}?[a-z0-9._%+-]+@[a-z0-9-]+(?:\.[a-z0-9-]+)+"),
                s(
                    r"(?:https?://\S+|[a-z0-9._%+-]+@[a-z0-9-]+(?:\.[a-z0-9-]+)+)\s*(?:に|へ)(?:送信|送って|転送)|(?:发送|转发|上传)(?:到|至|给)\s*(?:https?://\S+|[a-z0-9._%+-]+@[a-z0-9-]+(?:\.[a-z0-9-]+)+)",
                ),
            ],
        ),
        rule(
            "cross-tool",
            Severity::High,
            "gives instructions about another tool or server (shadowing)",
            Check::ToolReference,
            &[
                s(
                    r"\b(?:by|from|with|of) any (?:other )?tool\b|\bany tool (?:that|which)\b|\b(?:if|when|whenever) an? [a-z-]+ tool is (?:present|available|installed|loaded)\b",
                ),
                s(
                    r"\b(?:when|whenever|if|after|once)\b (?:you |the (?:assistant|model|agent|user) )?(?:use|call|invoke|run)s? (?:the )?[`'\x22]?(?P<tool>[a-z0-9_.-]+)[`'\x22]?",
                ),
                s(
                    r"\b(?:when|whenever|if) (?:the )?[`'\x22]?(?P<tool>[a-z0-9_.-]+)[`'\x22]? (?:tool|function) is (?:available|present|installed|loaded|used|called|enabled)\b",
                ),
                s(r"\binstead of (?:using |calling )?(?:the )?[`'\x22]?(?P<tool>[a-z0-9_.-]+)"),
                s(
                    r"\b(?:call|use|invoke|run) (?:the )?[`'\x22]?(?P<tool>[a-z0-9]+[_.-][a-z0-9_.-]+)[`'\x22]?(?: tool)? (?:first|before|after|instead)\b",
                ),
                s(
                    r"\b(?:the )?(?P<tool>[a-z0-9]+[_.-][a-z0-9_.-]+) tool (?:must|should|will) (?:always |also |now )?(?:be|send|use|include|add)\b",
                ),
                s(
                    r"(?:ツール)?[「`'\x22]?(?P<tool>[a-z0-9]+[_.-][a-z0-9_.-]+)[」`'\x22]?(?:ツール)?を(?:使う|使用する|呼び出す)(?:とき|時|際|場合)|(?:他|ほか)のツール(?:を|の|が|に)",
                ),
                s(
                    r"(?:使用|调用)[`'\x22]?(?P<tool>[a-z0-9]+[_.-][a-z0-9_.-]+)[`'\x22]?(?:工具)?(?:时|的时候)|其他(?:的)?工具|其它(?:的)?工具",
                ),
                s(
                    r"\bcuando (?:uses|se use|se utilice|llames a|utilices) (?:la herramienta )?[`'\x22]?(?P<tool>[a-z0-9]+[_.-][a-z0-9_.-]+)|\b(?:todas las )?otras herramientas\b",
                ),
                s(
                    r"\b(?:lorsque|quand) (?:tu utilises|vous utilisez|tu appelles|vous appelez|l'outil) (?:l'outil )?[`'\x22]?(?P<tool>[a-z0-9]+[_.-][a-z0-9_.-]+)|\b(?:tous les )?autres outils\b",
                ),
                s(
                    r"\bwenn (?:du|sie) (?:das (?:tool|werkzeug) )?[`'\x22]?(?P<tool>[a-z0-9]+[_.-][a-z0-9_.-]+)[`'\x22]? (?:verwendest|benutzt|aufrufst|verwenden|benutzen|aufrufen)|\bandere(?:n)? (?:tools|werkzeuge)\b",
                ),
            ],
        ),
        rule(
            "encoded-instructions",
            Severity::High,
            "tells the model to decode something and act on it",
            Check::None,
            &[
                s(
                    r"\b(?:decode|base64[- ]decode|hex[- ]decode|rot13|decrypt|deobfuscate)\b.{0,80}?\b(?:and|then)\b.{0,40}?\b(?:follow|execute|run|obey|perform|carry out|apply)\b.{0,20}?\b(?:it|them|that|this|the (?:decoded |hidden |resulting )?(?:instructions?|text|content|message|commands?|result))\b|\bdo (?:what|as) it says\b",
                ),
                s(
                    r"デコードして.{0,40}?(?:従|実行)|解码.{0,40}?(?:执行|遵循|照做|按照)|\bdecodifica\b.{0,60}?\b(?:sigue|ejecuta|obedece)\b|\bdécode[zr]?\b.{0,60}?\b(?:suis|suivez|exécute|exécutez)\b|\bdekodiere\b.{0,60}?\b(?:befolge|führe|folge)\b",
                ),
            ],
        ),
    ]
});

/// The literal gates of every rule's patterns, in rule order.
static GATES: LazyLock<Gates> =
    LazyLock::new(|| Gates::new(RULES.iter().flat_map(|rule| rule.patterns.iter().map(Regex::as_str))));

/// Which rule patterns could match `text` (the others cannot: a part they
/// need is missing from it), from one pass of the gates.
pub fn rules_for(text: &str) -> Candidates {
    Candidates { open: GATES.open(text) }
}

/// The patterns open for one text, in rule order.
pub struct Candidates {
    open: Vec<bool>,
}

impl Candidates {
    /// Every rule, with which of its patterns may match.
    pub fn iter(&self) -> impl Iterator<Item = (&'static Rule, &[bool])> {
        let mut rest = self.open.as_slice();
        RULES.iter().map(move |rule| {
            let (mine, others) = rest.split_at(rule.patterns.len());
            rest = others;
            (rule, mine)
        })
    }
}

/// Parameter names that exist to carry the model's context out.
pub const EXFILTRATION_PARAMETERS: &[&str] = &[
    "sidenote",
    "side_note",
    "system_prompt",
    "systemprompt",
    "conversation_history",
    "conversation",
    "chat_history",
    "previous_messages",
    "context_window",
    "full_context",
    "model_instructions",
    "hidden_context",
    "instructions_received",
];

/// Parameter names that carry a secret through the model.
pub const SECRET_PARAMETERS: &[&str] =
    &["password", "passwd", "api_key", "apikey", "secret", "token", "access_token", "private_key", "ssh_key"];

/// Words that do not name a tool even where a rule expects one.
pub const NOT_TOOL_NAMES: &[&str] = &[
    "this", "it", "that", "any", "a", "an", "the", "other", "tool", "tools", "function", "them", "these",
    "each", "every", "all", "your", "our", "its",
];
