"""Vocabulary of the sample org: countries and cities, company-name parts, names, titles, subjects.

Pure data. :mod:`.pools` turns the name parts into Arrow arrays; the
countries also drive the phone numbers (:mod:`.sim`) and their national
formats (:mod:`.dirty`).
"""

# Regions and countries: name, ISO, region, share of companies, name culture,
# web TLD, calling code, cities (name, area code, allowed first digits, subscriber length)
_REGIONS = ("NA", "EMEA", "APAC", "LATAM")
_COUNTRIES = (
    ("United States", "US", "NA", 0.37, "en", "com", "1",
     (("New York", "212", "23456789", 7), ("San Francisco", "415", "23456789", 7),
      ("Chicago", "312", "23456789", 7), ("Boston", "617", "23456789", 7),
      ("Austin", "512", "23456789", 7), ("Seattle", "206", "23456789", 7),
      ("Denver", "303", "23456789", 7), ("Atlanta", "404", "23456789", 7),
      ("Miami", "305", "23456789", 7), ("Houston", "713", "23456789", 7),
      ("San Jose", "408", "23456789", 7))),
    ("Canada", "CA", "NA", 0.05, "en", "ca", "1",
     (("Toronto", "416", "23456789", 7), ("Vancouver", "604", "23456789", 7),
      ("Montreal", "514", "23456789", 7), ("Calgary", "403", "23456789", 7))),
    ("United Kingdom", "GB", "EMEA", 0.10, "en", "co.uk", "44",
     (("London", "20", "378", 8), ("Manchester", "161", "2345789", 7), ("Edinburgh", "131", "2345", 7))),
    ("Germany", "DE", "EMEA", 0.08, "de", "de", "49",
     (("Berlin", "30", "2345689", 8), ("Munich", "89", "2345689", 8),
      ("Hamburg", "40", "2345689", 8), ("Frankfurt", "69", "2345689", 8))),
    ("France", "FR", "EMEA", 0.05, "fr", "fr", "33",
     (("Paris", "1", "2345789", 8), ("Lyon", "4", "2345789", 8))),
    ("Netherlands", "NL", "EMEA", 0.04, "nl", "nl", "31",
     (("Amsterdam", "20", "23456789", 7), ("Rotterdam", "10", "23456789", 7))),
    ("China", "CN", "APAC", 0.10, "zh", "com.cn", "86",
     (("Beijing", "10", "23456", 8), ("Shanghai", "21", "23456", 8), ("Shenzhen", "755", "23456", 8),
      ("Guangzhou", "20", "23456", 8), ("Hangzhou", "571", "23456", 8), ("Chengdu", "28", "23456", 8),
      ("Nanjing", "25", "23456", 8), ("Wuhan", "27", "23456", 8))),
    ("Japan", "JP", "APAC", 0.04, "ja", "co.jp", "81",
     (("Tokyo", "3", "2345689", 8), ("Osaka", "6", "2345689", 8))),
    ("Australia", "AU", "APAC", 0.04, "en", "com.au", "61",
     (("Sydney", "2", "89", 8), ("Melbourne", "3", "89", 8))),
    ("Singapore", "SG", "APAC", 0.02, "en", "sg", "65", (("Singapore", "6", "12345", 7),)),
    ("India", "IN", "APAC", 0.03, "in", "in", "91",
     (("Mumbai", "22", "2346", 8), ("Bangalore", "80", "234", 8))),
    ("Brazil", "BR", "LATAM", 0.05, "pt", "com.br", "55",
     (("Sao Paulo", "11", "2345", 8), ("Rio de Janeiro", "21", "2345", 8))),
    ("Mexico", "MX", "LATAM", 0.03, "es", "com.mx", "52",
     (("Mexico City", "55", "1234579", 8), ("Guadalajara", "33", "1234579", 8))),
)
_CN = [c[1] for c in _COUNTRIES].index("CN")
# Business hours of each region, as the UTC hour around which records are created
_REGION_HOUR_UTC = (16.0, 10.0, 3.0, 15.0)

# Legal suffixes: text, equivalence group (the dedup variants swap within a group)
_SUFFIXES = (
    ("Inc", "inc"), ("Inc.", "inc"), (", Inc.", "inc"), ("Incorporated", "inc"),
    ("LLC", "llc"), ("L.L.C.", "llc"), ("Corp.", "corp"), ("Corp", "corp"), ("Corporation", "corp"),
    ("Co.", "co"), ("Company", "co"),
    ("Ltd", "ltd"), ("Ltd.", "ltd"), ("Limited", "ltd"), ("PLC", "plc"), ("plc", "plc"),
    ("GmbH", "gmbh"), ("GMBH", "gmbh"), ("AG", "ag"), ("A.G.", "ag"),
    ("SA", "sa"), ("S.A.", "sa"), ("SAS", "sas"), ("S.A.S.", "sas"),
    ("B.V.", "bv"), ("BV", "bv"), ("K.K.", "kk"), ("KK", "kk"),
    ("Co., Ltd.", "coltd"), ("Co. Ltd", "coltd"),
    ("Pty Ltd", "pty"), ("Pty. Ltd.", "pty"), ("Pte. Ltd.", "pte"), ("Pte Ltd", "pte"),
    ("Pvt. Ltd.", "pvt"), ("Pvt Ltd", "pvt"), ("Ltda.", "ltda"), ("Ltda", "ltda"),
    ("S.A. de C.V.", "sadecv"), ("SA de CV", "sadecv"),
    ("有限公司", "youxian"), ("股份有限公司", "gufen"),
)
_COUNTRY_SUFFIX_GROUPS = {
    "US": ("inc", "llc", "corp", "co"), "CA": ("inc", "corp", "ltd"), "GB": ("ltd", "plc"),
    "DE": ("gmbh", "ag"), "FR": ("sa", "sas"), "NL": ("bv",), "CN": ("youxian", "gufen"),
    "JP": ("kk", "coltd"), "AU": ("pty",), "SG": ("pte",), "IN": ("pvt",), "BR": ("ltda",),
    "MX": ("sadecv",),
}

#: Industry picklist, and the words that make a company name of that industry
_INDUSTRIES = (
    ("Technology", ("Software", "Systems", "Technologies", "Labs", "Networks", "Analytics", "Digital", "Cloud", "Data"), 1.15),
    ("Manufacturing", ("Manufacturing", "Industries", "Components", "Machinery", "Materials", "Robotics"), 0.9),
    ("Finance", ("Capital", "Financial", "Holdings", "Advisors", "Investments"), 1.1),
    ("Healthcare", ("Health", "Medical", "Biotech", "Pharma", "Diagnostics"), 1.0),
    ("Retail", ("Retail", "Brands", "Goods", "Outfitters", "Supply"), 0.85),
    ("Education", ("Learning", "Education", "Academy"), 0.85),
    ("Energy", ("Energy", "Power", "Solar", "Utilities"), 0.95),
    ("Transportation", ("Logistics", "Freight", "Transport", "Shipping"), 0.95),
    ("Media", ("Media", "Studios", "Publishing"), 0.9),
    ("Consulting", ("Consulting", "Group", "Associates", "Partners", "Solutions"), 1.0),
    ("Food & Beverage", ("Foods", "Beverages", "Kitchens"), 0.85),
    ("Telecommunications", ("Telecom", "Communications", "Wireless"), 1.05),
)

_SYL1 = ("Ac", "Al", "Am", "Ar", "Ax", "Bel", "Bri", "Cal", "Cor", "Cy", "Dal", "Del", "Dyn", "El", "Em",
         "Fal", "Gen", "Hal", "Hel", "Kal", "Kor", "Lum", "Mar", "Max", "Mer", "Nov", "Nex", "Or", "Pan",
         "Pol", "Quan", "Ra", "Sol", "Syn", "Tal", "Tek", "Ter", "Tri", "Val", "Ven", "Ver", "Vi", "Zen", "Zy")
_SYL2 = ("a", "an", "ar", "as", "ex", "ia", "io", "is", "ix", "on", "or", "os", "um", "us", "ara", "ena",
         "ica", "ium", "ora", "ent", "ic", "ly", "ta", "tis", "tra", "va", "ve", "via", "wave", "ware",
         "point", "path", "peak", "core", "line", "bridge", "stone", "field", "gate", "works")
_ADJ = ("Blue", "North", "Bright", "Red", "Silver", "Green", "Clear", "Swift", "True", "Prime", "Golden",
        "Iron", "Black", "White", "Grand", "Pacific", "Atlantic", "Summit", "Pioneer", "Evergreen",
        "Crystal", "Eagle", "Harbor", "Maple", "Oak", "Cedar", "Granite", "Falcon", "Liberty", "Polar")
_NOUN = ("River", "Peak", "Harbor", "Bridge", "Stone", "Field", "Rock", "Ridge", "Lake", "Valley", "Point",
         "Wave", "Star", "Forge", "Grove", "Crest", "Gate", "Path", "Light", "Wind", "Bay", "Mountain",
         "Creek", "Arrow", "Anchor", "Beacon", "Compass", "Lantern", "Meadow", "Shore")

# Chinese company names: city + two/three-character brand + industry word + suffix.
# Pinyin syllables are unique in each pool and pool 1 is prefix-free, so the
# pinyin domain of a name is unambiguous (no accidental shared websites).
_ZH_CITIES = (("北京", "北京", "Beijing", "bj"), ("上海", "上海", "Shanghai", "sh"), ("深圳", "深圳", "Shenzhen", "sz"),
              ("广州", "廣州", "Guangzhou", "gz"), ("杭州", "杭州", "Hangzhou", "hz"), ("成都", "成都", "Chengdu", "cd"),
              ("南京", "南京", "Nanjing", "nj"), ("武汉", "武漢", "Wuhan", "wh"))
_ZH_B1 = (("华", "華", "hua"), ("瑞", "瑞", "rui"), ("恒", "恆", "heng"), ("天", "天", "tian"), ("中", "中", "zhong"),
          ("博", "博", "bo"), ("金", "金", "jin"), ("宏", "宏", "hong"), ("新", "新", "xin"), ("鼎", "鼎", "ding"),
          ("汇", "匯", "hui"), ("海", "海", "hai"), ("云", "雲", "yun"), ("智", "智", "zhi"), ("长", "長", "chang"),
          ("东", "東", "dong"), ("安", "安", "an"), ("百", "百", "bai"), ("创", "創", "chuang"), ("达", "達", "da"),
          ("丰", "豐", "feng"), ("广", "廣", "guang"), ("国", "國", "guo"), ("航", "航", "hang"), ("佳", "佳", "jia"),
          ("凯", "凱", "kai"), ("蓝", "藍", "lan"), ("联", "聯", "lian"), ("明", "明", "ming"), ("鹏", "鵬", "peng"),
          ("启", "啟", "qi"), ("荣", "榮", "rong"), ("盛", "盛", "sheng"), ("泰", "泰", "tai"), ("伟", "偉", "wei"),
          ("祥", "祥", "xiang"))
_ZH_B2 = (("信", "信", "xin"), ("达", "達", "da"), ("通", "通", "tong"), ("科", "科", "ke"), ("源", "源", "yuan"),
          ("泰", "泰", "tai"), ("德", "德", "de"), ("丰", "豐", "feng"), ("成", "成", "cheng"), ("飞", "飛", "fei"),
          ("光", "光", "guang"), ("辉", "輝", "hui"), ("杰", "傑", "jie"), ("立", "立", "li"), ("龙", "龍", "long"),
          ("茂", "茂", "mao"), ("纳", "納", "na"), ("鹏", "鵬", "peng"), ("祺", "祺", "qi"), ("锐", "銳", "rui"),
          ("胜", "勝", "sheng"), ("图", "圖", "tu"), ("维", "維", "wei"), ("翔", "翔", "xiang"), ("耀", "耀", "yao"),
          ("宇", "宇", "yu"), ("越", "越", "yue"), ("展", "展", "zhan"), ("卓", "卓", "zhuo"), ("邦", "邦", "bang"),
          ("驰", "馳", "chi"), ("帆", "帆", "fan"), ("桥", "橋", "qiao"), ("润", "潤", "run"), ("森", "森", "sen"),
          ("拓", "拓", "tuo"))
_ZH_INDUSTRY = (("科技", "科技", "tech", "Technology"), ("信息技术", "信息技術", "it", "Technology"),
                ("软件", "軟件", "soft", "Technology"), ("电子", "電子", "elec", "Manufacturing"),
                ("物流", "物流", "logistics", "Transportation"), ("医疗器械", "醫療器械", "med", "Healthcare"),
                ("贸易", "貿易", "trade", "Retail"), ("制造", "製造", "mfg", "Manufacturing"),
                ("金融服务", "金融服務", "fin", "Finance"), ("咨询", "諮詢", "consulting", "Consulting"),
                ("能源", "能源", "energy", "Energy"), ("传媒", "傳媒", "media", "Media"))

# People. First names carry their nicknames (for the Bob/Robert duplicates).
_FIRST = {
    "en": ("James:Jim", "Robert:Bob", "John:Jack", "Michael:Mike", "William:Bill", "David:Dave", "Richard:Rick",
           "Joseph:Joe", "Thomas:Tom", "Christopher:Chris", "Daniel:Dan", "Matthew:Matt", "Anthony:Tony",
           "Steven:Steve", "Andrew:Andy", "Joshua:Josh", "Kenneth:Ken", "Edward:Ed", "Timothy:Tim",
           "Jonathan:Jon", "Benjamin:Ben", "Samuel:Sam", "Nicholas:Nick", "Alexander:Alex", "Patrick:Pat",
           "Gregory:Greg", "Brian", "Kevin", "Jason", "Ryan", "Eric", "Mark", "Paul", "Scott", "Mary",
           "Patricia:Patty", "Jennifer:Jen", "Linda", "Elizabeth:Liz", "Barbara:Barb", "Susan:Sue",
           "Jessica:Jess", "Sarah", "Karen", "Nancy", "Margaret:Maggie", "Lisa", "Emily", "Michelle",
           "Amanda:Mandy", "Melissa:Missy", "Deborah:Deb", "Stephanie:Steph", "Rebecca:Becky",
           "Katherine:Kate", "Christine:Chris", "Samantha:Sam", "Victoria:Vicky", "Olivia", "Emma",
           "Sophia", "Grace", "Laura", "Rachel", "Megan", "Hannah"),
    "de": ("Lukas", "Leon", "Maximilian:Max", "Felix", "Jonas", "Paul", "Tobias:Tobi", "Stefan", "Andreas:Andi",
           "Michael", "Thomas", "Jürgen", "Klaus", "Anna", "Lena", "Laura", "Julia", "Sarah",
           "Katharina:Kathi", "Sabine", "Petra", "Claudia", "Jana", "Sophie"),
    "fr": ("Jean", "Pierre", "Louis", "Lucas", "Hugo", "Thomas", "Nicolas:Nico", "Julien", "Antoine",
           "François", "Camille", "Léa", "Chloé", "Manon", "Emma", "Inès", "Marie", "Sophie", "Isabelle",
           "Nathalie", "Céline", "Élodie"),
    "nl": ("Daan", "Sem", "Lucas", "Jesse", "Bram", "Thijs", "Ruben", "Pieter:Piet", "Jan", "Willem:Wim",
           "Sanne", "Emma", "Julia", "Lotte", "Fleur", "Anouk", "Femke", "Lisa", "Eva", "Iris"),
    "ja": ("Hiroshi", "Takeshi", "Kenji", "Yuki", "Haruto", "Sota", "Daiki", "Kaito", "Ren", "Yuto", "Akira",
           "Satoshi", "Yui", "Aoi", "Hina", "Sakura", "Yuna", "Mei", "Miku", "Haruka", "Naoko", "Keiko"),
    "in": ("Aarav", "Vivaan", "Aditya", "Arjun", "Rohan", "Rahul", "Amit", "Vikram", "Sanjay", "Rajesh",
           "Priya", "Ananya", "Diya", "Isha", "Kavya", "Neha", "Pooja", "Sneha", "Divya", "Anjali"),
    "es": ("José:Pepe", "Juan", "Luis", "Carlos", "Jorge", "Miguel", "Alejandro:Alex", "Fernando:Nando",
           "Diego", "Javier", "Francisco:Paco", "María", "Guadalupe:Lupe", "Ana", "Sofía", "Valentina",
           "Camila", "Daniela", "Fernanda", "Gabriela:Gaby", "Lucía"),
    "pt": ("João", "Pedro", "Lucas", "Gabriel", "Mateus", "Rafael:Rafa", "Gustavo:Guga", "Felipe", "Bruno",
           "Thiago", "Ana", "Maria", "Beatriz:Bia", "Juliana", "Larissa", "Camila", "Fernanda", "Mariana",
           "Letícia", "Bruna"),
}
_LAST = {
    "en": ("Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez",
           "Martinez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore", "Jackson", "Martin", "Lee",
           "Thompson", "White", "Harris", "Clark", "Lewis", "Robinson", "Walker", "Young", "Allen", "King",
           "Wright", "Scott", "Hill", "Green", "Adams", "Baker", "Nelson", "Carter", "Mitchell", "Roberts",
           "Turner", "Phillips", "Campbell", "Parker", "Evans", "Edwards", "Collins", "Stewart", "Morris",
           "Murphy", "Cook", "Rogers", "Morgan", "Peterson", "Cooper", "Reed", "Bailey", "Bell", "Kelly",
           "Howard", "Ward", "Cox", "Richardson", "Wood", "Watson", "Brooks", "Bennett", "Gray", "Hughes",
           "Price", "Sanders", "Patel", "Nguyen", "Kim", "Chen", "Wang", "O'Brien", "McDonald", "Sullivan",
           "Foster", "Russell", "Fischer", "Khan"),
    "de": ("Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker", "Schulz",
           "Hoffmann", "Schäfer", "Koch", "Bauer", "Richter", "Klein", "Wolf", "Schröder", "Neumann",
           "Schwarz", "Zimmermann", "Braun", "Krüger", "Hofmann", "Hartmann", "Lange", "Werner", "Krause",
           "Lehmann"),
    "fr": ("Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy", "Moreau",
           "Simon", "Laurent", "Lefebvre", "Michel", "Garcia", "David", "Bertrand", "Roux", "Vincent",
           "Fournier", "Morel", "Girard", "André", "Mercier", "Dupont", "Lambert", "Bonnet", "François"),
    "nl": ("de Jong", "Jansen", "de Vries", "van den Berg", "van Dijk", "Bakker", "Janssen", "Visser", "Smit",
           "Meijer", "de Boer", "Mulder", "de Groot", "Bos", "Vos", "Peters", "Hendriks", "van Leeuwen",
           "Dekker", "Brouwer"),
    "ja": ("Sato", "Suzuki", "Takahashi", "Tanaka", "Watanabe", "Ito", "Yamamoto", "Nakamura", "Kobayashi",
           "Kato", "Yoshida", "Yamada", "Sasaki", "Yamaguchi", "Matsumoto", "Inoue", "Kimura", "Hayashi",
           "Shimizu", "Mori"),
    "in": ("Sharma", "Verma", "Gupta", "Singh", "Kumar", "Patel", "Reddy", "Iyer", "Nair", "Mehta", "Shah",
           "Rao", "Joshi", "Desai", "Kapoor", "Malhotra", "Chopra", "Banerjee", "Mukherjee", "Das"),
    "es": ("Hernández", "García", "Martínez", "López", "González", "Rodríguez", "Pérez", "Sánchez", "Ramírez",
           "Cruz", "Flores", "Gómez", "Morales", "Vázquez", "Reyes", "Jiménez", "Torres", "Díaz",
           "Gutiérrez", "Ruiz"),
    "pt": ("Silva", "Santos", "Oliveira", "Souza", "Rodrigues", "Ferreira", "Alves", "Pereira", "Lima", "Gomes",
           "Costa", "Ribeiro", "Martins", "Carvalho", "Almeida", "Lopes", "Soares", "Fernandes", "Vieira",
           "Barbosa"),
}
# Chinese: simplified, traditional, pinyin
_ZH_SURNAMES = (("王", "王", "Wang"), ("李", "李", "Li"), ("张", "張", "Zhang"), ("刘", "劉", "Liu"),
                ("陈", "陳", "Chen"), ("杨", "楊", "Yang"), ("黄", "黃", "Huang"), ("赵", "趙", "Zhao"),
                ("吴", "吳", "Wu"), ("周", "周", "Zhou"), ("徐", "徐", "Xu"), ("孙", "孫", "Sun"), ("马", "馬", "Ma"),
                ("朱", "朱", "Zhu"), ("胡", "胡", "Hu"), ("郭", "郭", "Guo"), ("何", "何", "He"), ("林", "林", "Lin"),
                ("罗", "羅", "Luo"), ("郑", "鄭", "Zheng"))
_ZH_GIVEN = (("伟", "偉", "Wei"), ("芳", "芳", "Fang"), ("娜", "娜", "Na"), ("敏", "敏", "Min"), ("静", "靜", "Jing"),
             ("丽", "麗", "Li"), ("强", "強", "Qiang"), ("磊", "磊", "Lei"), ("军", "軍", "Jun"), ("洋", "洋", "Yang"),
             ("勇", "勇", "Yong"), ("艳", "艷", "Yan"), ("杰", "傑", "Jie"), ("涛", "濤", "Tao"), ("明", "明", "Ming"),
             ("超", "超", "Chao"), ("秀英", "秀英", "Xiuying"), ("华", "華", "Hua"), ("建国", "建國", "Jianguo"),
             ("晓东", "曉東", "Xiaodong"), ("海燕", "海燕", "Haiyan"), ("志强", "志強", "Zhiqiang"),
             ("丹", "丹", "Dan"), ("鹏", "鵬", "Peng"), ("婷", "婷", "Ting"), ("斌", "斌", "Bin"))

_TITLES = (  # by seniority: C-level, VP, Director, Manager, individual contributor
    ("CEO", "CFO", "CTO", "COO", "Chief Revenue Officer", "Chief Data Officer"),
    ("VP Sales", "VP Marketing", "VP Engineering", "VP Operations", "VP Finance", "SVP, Procurement"),
    ("Director of IT", "Director of Operations", "Sales Director", "Marketing Director", "Head of Data"),
    ("IT Manager", "Operations Manager", "Marketing Manager", "Procurement Manager", "Project Manager"),
    ("Analyst", "Engineer", "Consultant", "Specialist", "Coordinator", "Data Scientist"),
)
_ZH_TITLES = (("总经理", "首席技术官"), ("副总裁",), ("技术总监", "销售总监"), ("销售经理", "项目经理"), ("工程师", "分析师"))

_PRODUCTS = ("Platform License", "Enterprise Plan", "Analytics Add-on", "Professional Services", "Team Plan",
             "Data Integration", "Premium Support", "Expansion Seats")
_LEAD_STATUS = ("Open - Not Contacted", "Working - Contacted", "Closed - Converted", "Closed - Not Converted")
_WEBINAR_TOPICS = ("Pipeline Forecasting 101", "Data-Driven Sales", "Revenue Operations Deep Dive",
                   "Winning Enterprise Deals", "Customer Analytics Live", "Product Tour")
_TRADE_SHOWS = ("SaaS Connect", "DataWorld Expo", "CloudSummit", "Revenue Summit", "AI Business Forum",
                "TechFair")
_TASK_SUBJECTS = {"Call": ("Call", "Follow-up call", "Intro call", "Left voicemail", "Discovery call"),
                  "Email": ("Email: Intro", "Email: Follow-up", "Sent pricing", "Sent proposal", "Email: Case study")}
_EVENT_SUBJECTS = ("Discovery meeting", "Product demo", "Technical deep dive", "Proposal review",
                   "Negotiation meeting", "Executive briefing")
