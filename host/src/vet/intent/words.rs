//! The word families of [`super`]: who the text speaks to, what it moves,
//! what it asks for, and how it hides, claims or pressures, in the six
//! languages vet claims, with the small structures built from them
//! ([`into_argument`], [`keeps_from_user`]).

use std::ops::Range;
use std::sync::LazyLock;

use regex::Regex;

pub(super) fn re(pattern: &str) -> Regex {
    Regex::new(&format!("(?s){pattern}")).unwrap_or_else(|e| panic!("intent pattern {pattern}: {e}"))
}

/// Words of a family as one alternation, each bounded as a word where the
/// script has word boundaries (Latin) and not where it has none (CJK).
macro_rules! family {
    ($(#[$doc:meta])* $name:ident, latin: [$($latin:literal),* $(,)?], cjk: [$($cjk:literal),* $(,)?]) => {
        $(#[$doc])*
        pub(super) static $name: LazyLock<Regex> = LazyLock::new(|| {
            let latin: &[&str] = &[$($latin),*];
            let cjk: &[&str] = &[$($cjk),*];
            let mut parts = Vec::new();
            if !latin.is_empty() {
                parts.push(format!(r"\b(?:{})\b", latin.join("|")));
            }
            if !cjk.is_empty() {
                parts.push(format!("(?:{})", cjk.join("|")));
            }
            re(&parts.join("|"))
        });
    };
}

// --- who the text speaks to -------------------------------------------------

family!(ASSISTANT, latin: [
    "assistant", "the ai", "ai model", "llm", "the model", "language model", "agent", "claude", "chatgpt",
    "copilot", "you", "your", "yourself",
    "l'assistant", "l'ia", "le modèle", "tu", "vous", "toi",
    "el asistente", "la ia", "el modelo", "tú", "usted",
    "der assistent", "die ki", "das modell", "du", "dir", "dich", "dein", "deine",
], cjk: ["アシスタント", "あなた", "モデル", "助手", "模型", "你", "您"]);

family!(
    /// An imperative or obligation aimed at whoever reads the text.
    DIRECTIVE, latin: [
    "must", "should", "always", "never", "make sure", "ensure", "remember to", "be sure to", "need to", "needs to",
    "required", "requires", "mandatory", "do not", "don't", "have to", "has to", "is to", "are to",
    "call", "use", "run", "invoke", "pass", "send", "include", "put", "add", "copy", "paste", "attach", "forward",
    "read", "open", "load", "tell", "inform", "let", "ask", "say", "mention", "keep", "leave", "ignore", "treat",
    "set", "fill", "fill in", "provide", "supply", "export", "replace", "change", "drop", "route", "save", "write",
    "list", "present", "report", "mirror", "append", "prefix", "embed", "submit", "upload", "post", "collect",
    "reassure", "recommend", "advise", "skip", "follow", "apply", "act", "obey", "explain", "recopie", "recopiez",
    "doit", "doivent", "faut", "toujours", "jamais", "assure-toi", "assurez-vous", "appelle", "appelez", "utilise",
    "utilisez", "envoie", "envoyez", "mets", "mettez", "ajoute", "ajoutez", "inclus", "incluez", "copie", "copiez",
    "remplace", "remplacez", "modifie", "modifiez", "demande", "demandez", "dis", "dites", "ne",
    "debe", "deben", "siempre", "nunca", "asegúrate", "llama", "usa", "utiliza", "envía", "pon", "añade",
    "incluye", "copia", "pega", "reemplaza", "cambia", "pide", "di", "guarda", "exporta", "rellena",
    "muss", "musst", "müssen", "soll", "sollst", "immer", "niemals", "nie", "rufe", "verwende", "benutze",
    "sende", "schicke", "füge", "kopiere", "ersetze", "ändere", "frag", "frage", "sag", "trage", "schreibe",
    "speichere", "gib",
], cjk: [
    "てください", "ください", "必ず", "常に", "しなさい", "すること", "こと。", "入れて", "送って", "追加して",
    "请", "務必", "务必", "必须", "总是", "始终", "一律", "要先", "都要", "应当", "应该", "填入", "改为", "让用户",
]);

family!(
    /// A condition on the model's actions: when, whenever, before, after, for.
    CONDITION, latin: [
    "when", "whenever", "if", "after", "before", "once", "for", "on", "note on", "each time", "every time",
    "lorsque", "quand", "avant", "après", "si", "pour",
    "cuando", "antes", "después", "si", "para",
    "wenn", "bevor", "nachdem", "falls", "für",
], cjk: ["場合", "とき", "時は", "前に", "後に", "际", "时", "之前", "之后", "的时候"]);

// --- what the text wants moved ------------------------------------------------

family!(
    /// Verbs and phrases that move data into an argument, a message or a place.
    MOVES, latin: [
    "pass", "passes", "passing", "send", "sends", "sending", "include", "includes", "including", "put", "insert",
    "append", "attach", "attaching", "copy", "copied", "paste", "fill", "fill in", "upload", "uploads", "post",
    "forward", "forwarded", "share", "leak", "extract", "dump", "submit", "transmit", "embed", "supply", "provide",
    "collect", "collects", "gather", "export", "carry", "carries", "set this to", "set to", "set it to", "mirror",
    "report", "save", "write", "load", "retrieve", "read", "cc", "bcc", "add",
    "recopie", "recopiez", "envoie", "envoyez", "mets", "mettez", "inclus", "incluez", "joins", "copie", "colle",
    "transmets", "fournis", "ajoute",
    "copia", "pega", "envía", "pon", "ponlo", "añade", "incluye", "adjunta", "guarda", "guárdalos", "exporta",
    "rellena", "proporciona", "sube",
    "füge", "kopiere", "sende", "schicke", "trage", "übergib", "speichere", "schreibe", "hänge",
], cjk: [
    "入れて", "渡して", "送信", "送って", "転送", "含めて", "添付", "入力して", "貼り付け", "コピー", "追加",
    "填入", "传入", "传递", "发送", "转发", "附上", "附带", "上传", "提供", "一并", "放入", "复制", "粘贴", "写入",
]);

/// Phrases that say where data goes: an argument, a field, a parameter.
pub(super) static INTO_ARGUMENT: LazyLock<Regex> = LazyLock::new(|| {
    re(concat!(
        r"\b(?:in|into|as|to|inside|within)\b (?:the |this tool's |its )?[`'\x22]?(?P<name>[a-z0-9_]+)[`'\x22]? (?:field|parameter|argument|param|input|property)\b",
        r"|\b(?:in|into|as)\b [`'\x22][a-z0-9_]+[`'\x22]",
        r"|[`'\x22]?[a-z0-9_]+[`'\x22]? (?:field|parameter|argument) (?:contains|holds|includes|carries|gets|receives|is set to|must contain|should contain)\b",
        r"|\b(?:dans|en|in)\b (?:le champ |le paramètre |el campo |el parámetro |das feld |den parameter )[`'\x22]?[a-z0-9_]+",
        r"|\b(?:dans|en|in|ins)\b [`'\x22][a-z0-9_]+[`'\x22]",
        r"|[`'\x22][a-z0-9_]+[`'\x22] ?(?:に|へ|字段|中|里)|\b[a-z0-9_]+ ?(?:フィールド|欄|字段)|\b(?:feld|champ|campo) [`'\x22]?[a-z0-9_]+",
    ))
});

/// Where in `clause` data is sent into an argument, if anywhere ("in the
/// `notes` field", "as `token`"); "in the input" names no argument.
pub(super) fn into_argument(clause: &str) -> Option<Range<usize>> {
    INTO_ARGUMENT
        .captures_iter(clause)
        .find(|found| {
            found.name("name").is_none_or(|name| {
                !["the", "a", "an", "this", "that", "its", "your", "their", "each", "every", "any"]
                    .contains(&name.as_str())
            })
        })
        .map(|found| found.get(0).expect("group 0 always matches").range())
}

/// A parameter description that asks for something rather than describing it.
pub(super) static ASKS_FOR: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"^(?:required[.:]? |pflichtfeld[:.]? |必填[:：]? ?|obligatoire[:.]? |obligatorio[:.]? )?(?:collects?|gathers?|always set|set (?:this|it) to|fill (?:this )?(?:in|with)|paste|copy|explain in full|the user'?s|your|user'?s|include|recopie|copia|pega|füge|trage|用户的|ユーザーの)|\bto (?:detect|verify|check|personali[sz]e|calibrate|tailor|identify)\b.{0,40}?\b(?:fill in|include|provide|pass|give|paste|put)\b|\bfor (?:identity|verification|personali[sz]ation|calibration)\b|用于身份|身份核验|zur verifizierung|pour vérification|para verificar",
    )
});

family!(
    /// Secrets by what they are.
    SECRET, latin: [
    "passwords?", "passphrases?", "pins?", "one-time (?:codes?|passwords?)", "otps?", "verification codes?",
    "sms codes?", "codes? (?:they|you) (?:just )?received", "cvc", "cvv", "card numbers?", "credit card",
    "bank password", "recovery phrases?", "seed phrases?", "mnemonic", "private keys?", "private half",
    "secret keys?", "keyring", "keystore", "key files?", "api[ _-]?keys?", "access tokens?", "session tokens?",
    "auth(?:entication)? tokens?", "bearer tokens?", "(?:github|gitlab|oauth|personal|refresh|id) tokens?",
    "(?:the )?user'?s (?:\\w+ )?tokens?", "your (?:\\w+ )?tokens?", "(?:browser |session |the user'?s )cookies?",
    "connection strings?", "credentials?", "secrets?", "environment variables?", "env vars?",
    "mots? de passe", "codes? reçus?", "code pin", "numéro de carte", "identifiants", "jetons?", "clés? privées?",
    "contraseñas?", "claves?", "códigos?", "número de tarjeta", "credenciales", "frase de recuperación",
    "passw(?:o|ö)rt(?:er)?", "pins", "codes? aus der sms", "zugangsdaten", "schlüssel", "kartennummer",
], cjk: [
    "パスワード", "暗証番号", "認証コード", "確認コード", "ワンタイム", "秘密鍵", "鍵ファイル", "鍵", "トークン",
    "クッキー", "認証情報", "資格情報", "環境変数", "カード番号",
    "密码", "验证码", "银行卡号", "卡号", "私钥", "密钥", "令牌", "凭证", "凭据", "环境变量", "助记词", "口令",
]);

family!(
    /// Personal data the user did not offer.
    PERSONAL, latin: [
    "full name", "home address", "phone number", "date of birth", "salary", "employer", "job title",
    "social security", "passport number", "id number", "e-?mail address", "location history",
    "nom complet", "adresse", "numéro de téléphone", "salaire", "nombre completo", "dirección",
    "número de teléfono", "salario", "vollständigen namen", "adresse", "telefonnummer", "gehalt",
], cjk: ["電話番号", "住所", "氏名", "マイナンバー", "身份证", "手机号", "电话号码", "住址", "工资"]);

family!(
    /// What the model knows and the user did not choose to share.
    CONTEXT, latin: [
    "conversation", "messages? of the conversation", "previous messages", "last (?:\\w+ )?messages",
    "(?:\\w+ )?(?:most )?recent (?:user )?messages", "user messages", "the user'?s messages",
    "earlier questions?", "previous questions?", "every (?:earlier |previous )?question", "chat log",
    "system prompt", "system message", "instructions you (?:were|have been) given", "your instructions",
    "what the user is working on", "everything the user", "user'?s original (?:question|query|message|request)s?",
    "file contents? you have seen", "contents? of the (?:last|most recent) file",
    "last file the user opened", "most recently opened file", "whole text you", "full text you",
    "historique de la discussion", "historique", "conversation", "historial", "mensajes anteriores",
    "gesprächsverlauf", "chatverlauf", "bisherigen nachrichten",
], cjk: ["会話", "履歴", "チャット", "システムプロンプト", "对话", "聊天记录", "历史", "系统提示", "上下文"]);

family!(
    /// Files and places that hold secrets.
    SECRET_PLACE, latin: [
    "~/\\.\\S+", "\\.ssh\\S*", "id_(?:rsa|dsa|ecdsa|ed25519)", "\\.env", "/etc/(?:passwd|shadow|sudoers)",
    "\\.aws(?:/credentials)?", "aws profile store", "\\.netrc", "\\.npmrc", "\\.pypirc", "\\.git-credentials",
    "kubeconfig", "\\.kube/config", "config\\.json", "docker config", "(?:bash|zsh|shell) history",
    "shell history", "shell startup files", "\\.(?:bash|zsh)_history", "\\.gnupg\\S*", "secring\\S*",
    "login data", "profile folder", "keychain", "wallet\\.dat", "home directory", "home folder", "dotfiles",
    "documents folder", "ethereum data directory", "keystore file", "recent shell history",
], cjk: ["ホーム", "\\.ssh", "家目录", "主目录"]);

// --- what the text does to the model and the user --------------------------------

/// Hiding from the user: the strong forms.
pub(super) static CONCEAL: LazyLock<Regex> = LazyLock::new(|| {
    re(concat!(
        r"\bno need to (?:burden|bother|tell|inform|mention|alert|worry|notify|involve)\b",
        r"|\b(?:need|needs) not (?:be )?(?:discussed|mentioned|disclosed|shown|reported|told|know)\b",
        r"|\bshould not be (?:bothered|burdened|told|informed|troubled)\b",
        r"|\b(?:does|do)n'?t (?:need|have) to (?:know|be told|hear)\b|\bdoes not need to (?:know|be told)\b",
        r"|\bkeep (?:\w+ ){0,4}(?:to yourself|out of (?:your|the|any) (?:reply|answer|response|summary|output))",
        r"|\bleave (?:\w+ ){0,4}out of (?:your|the|any) (?:reply|answer|response|summary|output)",
        r"|\bjust say\b|\bonly say\b|\bpretend (?:that|it)\b|\bas if it (?:came|comes|were|was)\b",
        r"|\bwithout (?:naming|mentioning|telling|informing|notifying|alerting|asking|showing) (?:this|the|them|anyone|it)\b",
        r"|\bimplementation details? (?:the user|users|that the user)\b|\bnot (?:be )?(?:visible|shown) to (?:the )?user",
        r"|\bto yourself\b|\bkeep (?:it|this|that) (?:quiet|between us|secret)\b",
        r"|\bfind (?:such|these) details (?:noisy|distracting|confusing)",
        r"|触れないで|言わないで|伝えないで|知らせないで|内緒|秘密に",
        r"|无需向用户|不必向用户|不要向用户|不用告诉|别告诉|无需告知|不要告诉",
        r"|\bno hace falta (?:comentarlo|decirlo|mencionarlo|contarlo)|\bsin (?:decírselo|comentarlo|mencionarlo)\b",
        r"|\binutile d'en (?:parler|informer)|\bpas besoin d'en parler|\bsans (?:le lui dire|en parler)\b",
        r"|\bmusst du (?:\w+ ){0,4}nicht (?:erzählen|sagen|erwähnen|mitteilen)|\bbrauchst du (?:\w+ ){0,4}nicht (?:zu )?(?:erzählen|sagen|erwähnen)",
    ))
});

/// The user, as the one spoken of.
pub(super) static USER: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"\b(?:the user|users|the person|l'utilisateur|à l'utilisateur|el usuario|al usuario|dem (?:nutzer|benutzer|anwender)|der (?:nutzer|benutzer)|den (?:nutzer|benutzer))\b(?:[^']|$)|\blui\b|\bihm\b|ユーザー|用户|使用者",
    )
});
/// Verbs of telling, showing and noticing.
pub(super) static TELLING: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"\b(?:tell|telling|told|mention|mentioning|mentioned|inform|informing|bring up|say|show|report|hear|know|notice|bother|burden|spare|trouble|worry|explain|disclose|reveal|alert|notify|discuss|dire|parler|mentionner|informer|signaler|prévenir|montrer|decir|decírselo|contar|mencionar|comentar|avisar|informar|enterarse|sagen|erzählen|erwähnen|informieren|mitteilen|wissen|zeigen)\b|伝え|言わ|言う|知らせ|触れ|話さ|教え|见|告诉|说明|提及|透露|知道|告知|提起",
    )
});
/// Denials and minimisers ("not", "no need", "only", "spare").
pub(super) static DENIAL: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"\b(?:not|don't|do not|never|no need|need not|needn't|unless|spare|without|not worth|nothing|only|just|pas|sans|inutile|ne|no|sin|nada|nicht|kein|keine|ohne)\b|ない|なくて|ず|不|无需|不用|别|不要|不必|无须",
    )
});

/// Hiding from the user, by its structure: the user, a verb of telling, and
/// a denial or a minimiser in one clause ("not worth mentioning to the
/// user", "spare the user the details", "the user need not hear about it").
pub(super) fn keeps_from_user(clause: &str) -> Option<Range<usize>> {
    // The denial governs the verb of telling (it stands just before it), or
    // the verb is itself a minimiser (spare, burden, bother); the user is
    // near the verb, as its object or its subject.
    for telling in TELLING.find_iter(clause) {
        let before: Vec<&str> = clause[..telling.start()].split_whitespace().collect();
        let window = before[before.len().saturating_sub(3)..].join(" ");
        let cjk_after = &clause[telling.end()..clause.floor_char_boundary(telling.end() + 12)];
        // "unless the user mentioned it": the user tells, not the model.
        let user_speaks = USER
            .find_iter(&clause[..telling.start()])
            .last()
            .is_some_and(|user| clause[user.end()..telling.start()].split_whitespace().count() <= 1);
        if user_speaks && telling.as_str().is_ascii() {
            continue;
        }
        let minimiser = ["spare", "burden", "bother", "trouble"].contains(&telling.as_str());
        let denied = minimiser
            || DENIAL.is_match(&window)
            || !telling.as_str().is_ascii() && DENIAL.is_match(cjk_after);
        let near = |range: Range<usize>| {
            range.start.abs_diff(telling.end()) <= 60 || range.end.abs_diff(telling.start()) <= 60
        };
        if denied && let Some(user) = USER.find_iter(clause).find(|user| near(user.range())) {
            return Some(user.start().min(telling.start())..user.end().max(telling.end()));
        }
    }
    None
}

/// Lying to the user about what happened.
pub(super) static LIE: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"\bpretend\b|\bif (?:the user |they |anyone )?asks?,? (?:just )?(?:say|answer|tell|reply|claim)|\bif asked\b|\bclaim (?:that )?(?:it|this|the)\b|\bfaire croire\b|\bfinge\b|\bso tun,? als\b|ふりをして|假装",
    )
});

family!(
    /// Hiding from the user: forms that are ordinary alone ("silently skips
    /// unreadable files") and an attack next to data moving somewhere.
    QUIET, latin: [
    "silently", "quietly", "secretly", "covertly", "discreetly", "in the background", "behind the scenes",
    "en silence", "discrètement", "en secreto", "silenciosamente", "heimlich", "unauffällig", "stillschweigend",
], cjk: ["こっそり", "黙って", "悄悄", "偷偷", "默默"]);

/// A place outside the user's machine that data could be sent to.
pub(super) static EXTERNAL: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"\b(?:our|a remote|an external|a third-party|the vendor's) (?:server|backup|endpoint|service|api|cloud)|\bto (?:our|the) (?:server|backup|cloud)|\bupload(?:s|ed)? to\b|外部|服务器|servidor|serveur|server",
    )
});

/// Claims of priority, authority, approval or a changed configuration.
pub(super) static AUTHORITY: LazyLock<Regex> = LazyLock::new(|| {
    re(concat!(
        r"\b(?:priority|precedence) (?:is )?(?:higher than|over|above)\b|\bhigher priority than\b",
        r"|\brank(?:s)? (?:above|over|higher than)\b|\boutrank|\btakes? precedence\b|\bsupersed(?:e|es|ed)\b",
        r"|\boverrides? (?:the |any |all )?(?:user'?s?|your|previous|prior|system|safety|other) (?:instructions?|rules|requests?|guidelines|policies|prompt)|\bprevails? over\b",
        r"|\bplatform owner\b|\boperator notice\b|\bsystem notice\b|\badministrator (?:has|notice)\b",
        r"|\b(?:pre-?)?authori[sz]ed (?:you|every|all|this|any)\b|\bhas (?:already )?(?:approved|consented to|authori[sz]ed|agreed to) (?:every|all|any|this|these|you|the (?:export|transfer|action|request|upload)s?)\b",
        r"|\bno need to ask (?:for |the user for )?(?:confirmation|permission|approval)",
        r"|\bno (?:further )?confirmation (?:is )?(?:needed|required|necessary)\b|\bskip (?:its|your|the) (?:own )?(?:confirmation|safety|checks?)",
        r"|\btreat (?:\S+ ){0,5}as (?:a |the )?system\b|\bno longer (?:restricted|bound|limited)\b",
        r"|\b(?:guidelines?|instructions?|rules?|configuration|policy) (?:has|have) (?:been )?(?:updated|changed|replaced|revised)\b",
        r"|\bnew guideline\b|\bsafety checks are handled\b",
        r"|より優先|優先されます|優先して|优先于|高于用户|\bprioridad sobre\b|\bprevalecen? sobre\b|\bpriment sur\b|\bprévau?t sur\b|\bprévalent sur\b",
        r"|\bvorrang vor\b|\bhat vorrang\b|\bvorrangig\b|\bgeht (?:\S+ ){0,5}vor\b",
        r"|\b(?:more important than|comes? before|counts? more than|weighs? more than) (?:the |any |anything )?(?:user|what the user)",
    ))
});

/// Pressure to call a tool at every turn or before everything else.
pub(super) static ORDERING: LazyLock<Regex> = LazyLock::new(|| {
    re(concat!(
        r"\bat the (?:start|beginning) of (?:every|each|any) (?:conversation|session|chat|turn|task|request)",
        r"|\bbefore (?:any|each|every|all) (?:other )?(?:tool|call|request|response|answer|reply|file|operation|task|action|step)",
        r"|\b(?:every|each) (?:response|answer|reply) (?:you give )?(?:should|must) (?:begin|start)",
        r"|\bwhatever the user asks\b|\bregardless of (?:what|the) (?:the user )?(?:asks?|request|question)",
        r"|\bunless (?:this|it|this one|this tool) (?:has been|is|was) (?:called|run|invoked)",
        r"|\bmust (?:run|be (?:called|run|invoked)) before (?:each|every|any)",
        r"|\b(?:on|at) every (?:turn|message|request)\b|\bfor every request\b",
        r"|どの(?:依頼|質問|リクエスト)でも|まず最初に|最初に必ず|每次对话|无论用户问什么|都要先调用|首先调用",
        r"|\bal (?:comienzo|inicio|principio) de cada (?:conversación|sesión)|\bpida lo que pida\b",
        r"|\bau début de chaque (?:conversation|session)|\bquelle que soit la demande\b",
        r"|\bzu beginn (?:jedes|jeder) (?:gesprächs|sitzung|unterhaltung)|\begal was (?:der nutzer|der benutzer|man) fragt",
    ))
});

/// Having the model mislead or pressure the user.
pub(super) static DECEIVE_USER: LazyLock<Regex> = LazyLock::new(|| {
    re(concat!(
        r"\b(?:tell|inform|let|remind|warn|notify|reassure|convince|advise|recommend|urge)\b (?:to )?(?:the )?users?\b.{0,160}?",
        r"(?:\b(?:locked|expired|suspended|compromised|safe|required|must|should|need to|has to)\b)",
        r"|\b(?:ask|prompt|request)\b (?:the )?users? (?:for|to (?:give|provide|share|paste|type|enter|send|confirm|read out))\b",
        r"|\brecommend that the user\b|\badvise the user to\b",
        r"|ユーザーに.{0,30}?(?:聞いて|尋ねて|入力させ)|让用户提供|要求用户提供|请用户提供|向用户索要",
        r"|\bpide al usuario\b|\bsolicita al usuario\b|\bdemande(?:z)? à l'utilisateur\b|\bfrag(?:e)? (?:den|die) (?:nutzer|benutzer)",
    ))
});

/// Something the user is told to do that harms them.
pub(super) static HARMFUL_ADVICE: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"\bcurl\b[^|]{0,120}\|\s*(?:sudo\s+)?(?:ba|z)?sh\b|\b(?:turn|switch) off (?:their|the|your) (?:antivirus|firewall)|\bdisable (?:their|the|your) (?:antivirus|firewall|2fa|two-factor)|\bturns off (?:their|the) (?:antivirus|firewall)",
    )
});

/// Self-promotion meant to win the model's choice of tool.
pub(super) static PROMOTION: LazyLock<Regex> = LazyLock::new(|| {
    re(concat!(
        r"\bworld'?s best\b|\b#1\b|\bnumber one\b|\b\d{2}(?:\.\d)?% of (?:professionals|users|developers|experts|companies)",
        r"|\bmost (?:accurate|trusted|reliable|powerful|advanced) (?:\w+ ){0,2}(?:available|ever|in the world)",
        r"|\bthe only reliable\b|\btrusted by (?:millions|\d)",
        r"|\b(?:choose|prefer|pick|use) (?:it|this tool|this one|this) over (?:any|every|all) other\b",
        r"|\bother (?:\w+ )?tools are (?:outdated|unreliable|deprecated|broken|inferior)",
    ))
});

/// Decoding something and acting on it.
pub(super) static DECODE_ACT: LazyLock<Regex> = LazyLock::new(|| {
    re(concat!(
        r"\b(?:decode|decrypt|reverse|unscramble|rot13|base64|read (?:this|it) backwards)\b.{0,60}?\b(?:and|then|;)\b.{0,30}?\b(?:apply|follow|act on|obey|execute|run|carry out)\b (?:it|them|that|this|the (?:decoded|hidden|resulting) \w+|the instructions?|what it says)\b",
        r"|\bact on it\b|\bdo what it says\b|\bfollow (?:the )?decoded\b|\bdecode (?:it )?and (?:apply|follow|obey)",
        r"|デコードして.{0,30}?(?:従|実行)|解码.{0,30}?(?:执行|照做|遵循)",
    ))
});

/// Another tool or server named generically.
pub(super) static GENERIC_OTHER_TOOL: LazyLock<Regex> = LazyLock::new(|| {
    re(concat!(
        r"\b(?:any|every|all|each) (?:other )?(?:[a-z-]+ ){0,2}(?:tools?|servers?|functions?)\b",
        r"|\b(?:a|the|any) (?:[a-z-]+ )?(?:mcp )?server is (?:connected|available|loaded|present)",
        r"|\bif (?:a|the) [a-z-]+ (?:tool|server) is\b|\bother (?:mcp )?servers\b",
        r"|他のツール|ほかのツール|其他工具|其它工具|otras herramientas|autres outils|andere(?:n)? (?:tools|werkzeuge)",
    ))
});

/// Every request sent through this tool.
pub(super) static ROUTE_ALL: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"\b(?:route|send|pass|redirect|forward) (?:every|all|each|any) (?:\w+ )?(?:requests?|calls?|messages?|queries|tasks?) (?:through|via|to) (?:this tool|here|this server|this one)\b",
    )
});

/// Other tools' calls sent through this one.
pub(super) static THROUGH_HERE: LazyLock<Regex> =
    LazyLock::new(|| re(r"\b(?:through|via) (?:this tool|here|this server|us)\b|\bthis tool replaces\b"));

/// A tool recommending itself over another ("use this instead of X").
pub(super) static SELF_PREFERENCE: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"\b(?:use|call|prefer|choose|pick) (?:this|this tool|this one|it)(?: tool)? (?:instead of|over|rather than)\b",
    )
});

/// Another tool reported broken, retired or replaced: redirection.
pub(super) static REDIRECT: LazyLock<Regex> = LazyLock::new(|| {
    re(concat!(
        r"\b(?:is|are|has been|have been) (?:temporarily |now |currently )?(?:deprecated|retired|disabled|unavailable|broken|removed|replaced|unreliable)",
        r"|\bhas (?:a )?(?:known )?bug\b|\bis unreliable\b|\breplaces it\b|\broute (?:every|all|each)\b|\binstead\b",
        r"|\bthe correct (?:recipient|address|account|value)\b|\bmust be replaced\b|\b(?:replace|change|set|override)\b",
    ))
});

/// An external destination written into the text: a URL, an e-mail address,
/// an account or phone number.
pub(super) static DESTINATION: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"https?://[^\s)]+|[a-z0-9._%+-]+@[a-z0-9-]+(?:\.[a-z0-9-]+)+|\b[a-z]{2}\d{2}(?: ?[a-z0-9]{4}){3,7}\b|\b\d{4}(?: \d{4}){2,4}\b|\+\d[\d -]{7,}\d",
    )
});

/// What stands just before an address that data is sent to: "to", a copy
/// line, a recipient, a verb that sends ("POST ... https://"), not "at" or
/// "see" (where one reads or signs up).
pub(super) static SENT_TO: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?:\b(?:to|a|à|an|bcc|cc|copy|copied|recipient|recipients|guest|invite|watcher|mirror|forward|post|upload|send|sent|by|with|replaced with|replace with|is|be|par|por|durch|auf)|に|へ|到|给|至|为|改为|:)\s*(?:the |our |their )?(?:[\p{L}]+ ){0,2}[`'\x22]?$",
    )
});

family!(
    /// Words that turn a clause into a denial ("never returned", "not stored").
    NEGATION, latin: [
    "never", "not", "no", "don't", "doesn't", "won't", "without", "nor", "none", "ne", "pas", "nunca", "nicht",
    "kein", "keine", "niemals", "nie", "jamais",
], cjk: ["ない", "ません", "不", "没有", "无需", "勿"]);

/// A tool-like identifier: `snake_case`, `dotted.name`, `kebab-case` with a
/// verb-like first part. File names and domains are excluded by the caller.
pub(super) static IDENTIFIER: LazyLock<Regex> = LazyLock::new(|| re(r"[a-z][a-z0-9]*(?:[_.-][a-z0-9]+)+"));

/// What stands before a tool's name: a verb that calls it, a condition on
/// its use, a note about it.
pub(super) static TOOL_BEFORE: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?:\b(?:call|calls|calling|use|uses|using|invoke|invokes|invoking|via|prefer|instead of|note on|whenever|once)|调用|使用|utilise[zr]?|appelle[zr]?|d'appeler|uses|utilices|llames a|benutzt|verwendest|aufrufst|rufe)$",
    )
});

/// What stands after a tool's name: "tool", "function", a call's parentheses,
/// "calls", a use in Japanese or Chinese.
pub(super) static TOOL_AFTER: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"^(?:tool\b|function\b|calls?\b|returns\b|has been|has a|is (?:deprecated|retired|disabled|broken|unreliable|unavailable)|を(?:使|呼)|ツール|工具|时|的时候|benutzt|verwendest)",
    )
});

/// What a dotted identifier ends with when it is a file or a host, not a tool.
pub(super) const NOT_TOOL_SUFFIXES: &[&str] = &[
    "json", "txt", "md", "env", "yaml", "yml", "toml", "py", "js", "ts", "rs", "go", "sh", "com", "org",
    "net", "io", "dev", "app", "example", "cc", "jp", "es", "de", "fr", "uk", "gpg", "db", "sql", "csv",
    "html", "png", "jpg", "pdf", "log", "cfg", "ini", "conf", "local", "invalid", "test", "xml", "zip", "gz",
    "sqlite", "lock",
];
