# Benign look-alike: Chinese and Japanese identifiers.
def 合计(数值):
    return sum(数值)


def 平均(数値):
    return 合计(数値) / len(数値) if 数値 else 0
