# Pattern: knock-off SDKs claiming to be built by a large vendor (typosquats of cloud SDKs posing as the vendor's release)
class Plugin:
    pass
